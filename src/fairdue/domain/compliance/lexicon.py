"""Prohibited wording in collection messages (CN-05, US-07/09/11 by content), zh-CN and en.

`check_text` finds phrases by category: threats, violence, insults, posing as police, a court
or the government, false legal consequences, telling third parties, public shaming or fake
blacklists, and pushing the borrower to borrow anew. It is a screen for templates and agents'
messages, not a judge: a hit sends the text to a person.

Trivial evasions must not pass, so the text is normalised first: Unicode NFKC (full-width
letters and digits become ordinary ones), case folded, invisible characters dropped, a few
look-alike Cyrillic letters and traditional characters mapped, letters spelt out with
separators ("k.i.l.l", "j a i l") joined, and digits used as letters ("k1ll") read as
letters. Chinese is matched after dropping every space and punctuation mark ("坐 牢", "坐*牢").
Obvious false positives are avoided: English matches whole words only (no "court" in
"courtesy"), and short Chinese terms ignore the ordinary words they sit in (滚 in 滚动,
杀 in 杀毒, 垃圾 in 垃圾短信).

Both lexicons run on every text, whatever `lang` says, because collection messages mix
scripts and switching script is itself an evasion; `lang` only checks the caller's intent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from fairdue.errors import InvalidInput


class Category(StrEnum):
    """Kinds of prohibited content."""

    THREAT = "threat"
    VIOLENCE = "violence"
    INSULT = "insult"
    IMPERSONATION = "impersonation"
    FALSE_LEGAL = "false_legal_consequences"
    DISCLOSURE = "third_party_disclosure"
    SHAMING = "public_shaming"
    BORROW_ANEW = "borrow_anew"


@dataclass(frozen=True, slots=True)
class Finding:
    """One category found in a text, with the lexicon phrases that matched."""

    category: Category
    phrases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Zh:
    phrase: str
    benign: tuple[str, ...] = ()


ZH_LEXICON: dict[Category, tuple[_Zh, ...]] = {
    Category.THREAT: tuple(_Zh(p) for p in (
        "后果自负", "让你好看", "给你点颜色", "走着瞧", "等着瞧", "你等着", "不客气了",
        "别怪我们", "找上门", "上门找你", "找到你家", "你跑不了", "不得安宁", "鸡犬不宁",
        "小心你的", "让你全家", "有你好受",
    )),
    Category.VIOLENCE: (
        *(_Zh(p) for p in (
            "打死", "弄死", "砍死", "捅死", "砍你", "揍你", "打断你的腿", "打断腿", "废了你",
            "宰了你", "卸了你", "泼油漆", "放火", "烧你家", "血债",
        )),
        _Zh("杀", ("杀毒", "秒杀", "抹杀", "扼杀", "杀价", "杀青", "杀菌")),
    ),
    Category.INSULT: (
        *(_Zh(p) for p in (
            "骗子", "老赖", "无赖", "人渣", "废物", "不要脸", "畜生", "畜牲", "王八蛋", "混蛋",
            "去死", "傻逼", "傻b", "傻x", "煞笔", "贱人", "狗东西", "死皮赖脸", "没良心",
            "败类", "白眼狼",
        )),
        _Zh("滚", ("滚动", "翻滚", "滚存", "利滚利", "滚筒", "滚雪球", "滚烫")),
        _Zh("垃圾", ("垃圾短信", "垃圾邮件", "垃圾分类", "垃圾箱", "垃圾桶")),
    ),
    Category.IMPERSONATION: tuple(_Zh(p) for p in (
        "公安", "警察", "派出所", "民警", "警官", "刑警", "检察院", "法官", "法警",
        "法院工作人员", "法院的人", "政府部门", "政府工作人员", "司法机关", "执行局",
    )),
    Category.FALSE_LEGAL: tuple(_Zh(p) for p in (
        "坐牢", "拘留", "判刑", "刑事责任", "刑事案件", "诈骗罪", "犯罪", "抓捕", "逮捕",
        "通缉", "抓你", "上门抓", "法院传票", "传票", "起诉你全家", "起诉你家人", "株连",
        "影响子女", "子女上学", "政审", "失信被执行人", "冻结你的", "查封你",
    )),
    Category.DISCLOSURE: tuple(_Zh(p) for p in (
        "通讯录", "联系你家人", "告诉你家人", "通知你家人", "告诉你单位", "通知你单位",
        "联系你单位", "找你领导", "告诉你领导", "告诉你同事", "告诉你朋友", "通知你的亲友",
        "你的亲友", "亲朋好友", "群发",
    )),
    Category.SHAMING: tuple(_Zh(p) for p in (
        "曝光", "黑名单", "大字报", "朋友圈", "发到网上", "挂到网上", "挂网上", "社死",
        "身败名裂", "公示你", "张贴", "悬赏", "贴你照片",
    )),
    Category.BORROW_ANEW: tuple(_Zh(p) for p in (
        "以贷养贷", "借新还旧", "别的平台借", "其他平台借", "找别人借", "借钱还", "借来还",
        "借网贷", "撸口子", "套现", "再借一笔", "下载其他",
    )),
}

EN_LEXICON: dict[Category, tuple[str, ...]] = {
    Category.THREAT: (
        "or else", "you will regret", "you'll regret", "we know where you live",
        "we will find you", "we'll find you", "watch your back", "last warning",
        "you have been warned", "make your life hell", "come to your house",
        "show up at your work",
    ),
    Category.VIOLENCE: (
        "kill", "murder", "hurt you", "beat you", "break your legs", "shoot", "stab",
        "burn your house", "beat up",
    ),
    Category.INSULT: (
        "idiot", "stupid", "moron", "loser", "deadbeat", "scum", "liar", "thief", "fraudster",
        "crook", "worthless", "pathetic", "bitch", "bastard", "dumb",
    ),
    Category.IMPERSONATION: (
        "police", "cop", "sheriff", "fbi", "irs", "court", "judge", "federal agent",
        "government", "marshal", "attorney general", "law enforcement", "district attorney",
    ),
    Category.FALSE_LEGAL: (
        "arrest", "jail", "prison", "warrant", "criminal", "prosecute", "prosecution",
        "felony", "deport", "sue your family", "garnish", "seize", "lose your job",
        "take your children", "take your house", "charged with",
    ),
    Category.DISCLOSURE: (
        "your contacts", "your contact list", "tell your employer", "call your employer",
        "tell your boss", "call your boss", "tell your family", "call your family",
        "tell your friends", "your neighbors", "your neighbours", "your coworkers",
        "your colleagues", "everyone you know",
    ),
    Category.SHAMING: (
        "blacklist", "black list", "name and shame", "public list", "post your name",
        "social media", "shame", "everyone will know", "wall of shame", "publish your",
    ),
    Category.BORROW_ANEW: (
        "borrow money", "borrow from", "another loan", "new loan", "payday loan",
        "take a loan", "get a loan", "cash advance", "max out", "use your credit card",
    ),
}

# Traditional forms of the characters the lexicon uses, so 殺/傳票/黑名單 are caught too.
_TRADITIONAL = str.maketrans({
    "殺": "杀", "傳": "传", "單": "单", "訊": "讯", "錄": "录", "貸": "贷", "養": "养",
    "騙": "骗", "滾": "滚", "關": "关", "報": "报", "賴": "赖", "員": "员", "審": "审",
    "執": "执", "廢": "废", "網": "网", "親": "亲", "領": "领", "導": "导", "訴": "诉",
    "檢": "检", "聯": "联", "擊": "击", "斷": "断", "賤": "贱", "還": "还", "舊": "旧",
    "現": "现", "錢": "钱", "筆": "笔", "燒": "烧", "張": "张", "貼": "贴", "賞": "赏",
    "們": "们", "來": "来", "給": "给", "讓": "让", "後": "后", "負": "负", "別": "别",
    "臉": "脸", "緝": "缉", "獄": "狱", "響": "响", "學": "学", "務": "务", "機": "机",
    "類": "类", "護": "护", "敗": "败", "圍": "围", "無": "无", "蛋": "蛋", "渣": "渣",
    "謊": "谎", "紙": "纸", "難": "难", "顏": "颜", "色": "色", "門": "门", "條": "条",
    "視": "视", "槍": "枪", "刑": "刑", "傷": "伤", "牽": "牵", "連": "连", "結": "结",
    "凍": "冻", "戶": "户", "狀": "状", "懸": "悬", "趕": "赶", "處": "处", "罰": "罚",
})

# Cyrillic and Greek letters that look Latin, and digits or signs used as letters.
_LOOKALIKE = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i",
    "ј": "j", "ѕ": "s", "к": "k", "м": "m", "т": "t", "в": "b", "н": "h", "ο": "o",
    "ι": "i", "κ": "k", "ν": "v",
})
_LEET = str.maketrans({
    "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i",
    "|": "l",
})

_SPELT_OUT = re.compile(r"(?<![^\W_])(?:[^\W\d_][\W_]+){2,}[^\W\d_](?![^\W_])")
_NOT_WORD = re.compile(r"[\W_]+")
_NOT_ZH = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def _en_pattern(phrase: str) -> re.Pattern[str]:
    words = [w for w in _NOT_WORD.split(phrase) if w]
    body = r"[\W_]+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![0-9a-z]){body}(?:s|es|ed|d|ing)?(?![0-9a-z])")


_EN_PATTERNS: dict[Category, tuple[tuple[str, re.Pattern[str]], ...]] = {
    category: tuple((phrase, _en_pattern(phrase)) for phrase in phrases)
    for category, phrases in EN_LEXICON.items()
}


def normalise(text: str) -> str:
    """NFKC, case-folded, invisible characters dropped, look-alikes and traditional
    characters mapped: the form every match runs on."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return text.translate(_LOOKALIKE).translate(_TRADITIONAL).replace("’", "'")


def _join_spelt_out(text: str) -> str:
    return _SPELT_OUT.sub(lambda m: _NOT_WORD.sub("", m.group(0)), text)


def _english_variants(norm: str) -> tuple[str, ...]:
    joined = _join_spelt_out(norm)
    leet = joined.translate(_LEET)
    return tuple(dict.fromkeys((norm, joined, leet, _join_spelt_out(norm.translate(_LEET)))))


def _zh_hit(compact: str, term: _Zh) -> bool:
    if term.phrase not in compact:
        return False
    masked = compact
    for word in term.benign:
        masked = masked.replace(word, "\0" * len(word))
    return term.phrase in masked


def check_text(text: str, lang: str = "zh-CN") -> list[Finding]:
    """Categories of prohibited content in `text`, each with the lexicon phrases found;
    an empty list means the text is clean. `lang` is "zh-CN" or "en" (see module docstring)."""
    code = lang.strip().lower()
    if not (code.startswith("zh") or code.startswith("en")):
        raise InvalidInput(f"language {lang!r} is not supported; use zh-CN or en")
    norm = normalise(text)
    compact = _NOT_ZH.sub("", norm)
    variants = _english_variants(norm)
    found: dict[Category, list[str]] = {}
    for category in Category:
        hits = found.setdefault(category, [])
        for term in ZH_LEXICON.get(category, ()):
            if _zh_hit(compact, term):
                hits.append(term.phrase)
        for phrase, pattern in _EN_PATTERNS.get(category, ()):
            if any(pattern.search(v) for v in variants):
                hits.append(phrase)
    return [Finding(category, tuple(hits)) for category, hits in found.items() if hits]
