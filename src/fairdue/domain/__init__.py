"""The pure core: rules of money, ledgers, delinquency and cases.

Nothing in this package imports a framework, reads the clock, the environment or the
network; whatever it needs from outside is passed in.
"""
