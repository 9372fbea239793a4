"""fairdue: fair, lawful collection of overdue consumer micro-loans."""

__version__ = "0.1.0"
