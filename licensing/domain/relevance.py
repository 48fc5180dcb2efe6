"""Relevance for matching: Chinese and English text as terms, and the BM25 weights that rank
them (Robertson and Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond", 2009).

Terms: jieba's search-mode segmentation (its dictionary ships with the package; nothing is
downloaded), NFKC-folded and lower-cased, without the words every patent and every need says
(一种, 方法, 装置, "method"). IPC classes are terms too, written '#G06': they carry the industry
link, weighed by AFFINITY instead of by their rarity."""

from __future__ import annotations

import logging
import math
import unicodedata
from collections.abc import Iterable

import jieba

jieba.setLogLevel(logging.WARNING)  # its "Building prefix dict" lines are not the app's news

# Words in nearly every patent title, abstract or need: they say nothing about fit.
STOP_WORDS = frozenset(
    """
    一种 一个 一些 以及 及其 其中 所述 包括 包含 具有 用于 由于 通过 进行 采用 使用 利用
    实现 提供 本发明 发明 实用新型 涉及 技术 领域 方法 装置 系统 设备 结构 组件 部件 单元
    模块 制备 应用 及 和 与 或 的 在 为 是 对 将 并 使 该 其 等 上 下 中 内 外 可
    能 我们 我司 公司 企业 需要 希望 产品 问题 解决 提高 降低 基于 进一步 至少 多个 第一
    第二 第三 之间 相对 设置 设有 连接 固定
    a an and are as at be by for from in into is it of on or that the their this to with using
    method methods device devices system systems apparatus use used based thereof wherein
    comprising
    """.split()  # noqa: SIM905  # a word list reads better as words
)


def _keep(word: str) -> bool:
    if word in STOP_WORDS or len(word) < 2:
        return False
    if word.isdigit():
        return False
    return any(ch.isalnum() for ch in word)


def terms(text: str) -> list[str]:
    """The text's terms, in order, repeats kept (their counts are the term frequencies)."""
    folded = unicodedata.normalize("NFKC", text or "").lower()
    return [word for word in (w.strip() for w in jieba.lcut_for_search(folded)) if _keep(word)]


def keyword_terms(keywords: str) -> list[str]:
    """Keywords as typed ('锂电池, 储能'): each keyword whole, and its own terms."""
    found: list[str] = []
    for keyword in keywords.replace("，", ",").replace("、", ",").replace(";", ",").split(","):
        keyword = unicodedata.normalize("NFKC", keyword).strip().lower()
        if not keyword:
            continue
        parts = terms(keyword)
        if _keep(keyword) and keyword not in parts and len(keyword) <= 40:
            found.append(keyword)
        found.extend(parts)
    return found


def weighted(fields: Iterable[tuple[list[str], float]]) -> dict[str, float]:
    """Term frequencies over fields of different weight (a title's word counts more than an
    abstract's): {term: sum of the weights of its occurrences}."""
    counts: dict[str, float] = {}
    for words, weight in fields:
        for word in words:
            counts[word[:40]] = counts.get(word[:40], 0.0) + weight
    return counts


# BM25's usual constants: how fast a repeated term saturates, and how much length counts.
K1 = 1.2
B = 0.75
# What a shared IPC class / industry link is worth beside the text: about one well-matched term.
AFFINITY = 4.0
# An open licence's fixed terms suit a micro or small firm (CNIPA's aim for open licences).
OPEN_LICENCE_FOR_SMALL = 1.0
CLASS_PREFIX = "#"


def class_term(ipc_class: str) -> str:
    return f"{CLASS_PREFIX}{ipc_class}"


def is_class_term(term: str) -> bool:
    return term.startswith(CLASS_PREFIX)


def length(frequencies: dict[str, float]) -> float:
    """A document's length: the weighted count of its text terms (classes do not count)."""
    return sum(tf for term, tf in frequencies.items() if not is_class_term(term))


def bm25_weights(frequencies: dict[str, float], average_length: float | None) -> dict[str, float]:
    """Each text term's weight in its document: tf·(k1+1) / (tf + k1·(1 − b + b·len/avglen)).
    Without an average yet, the document is weighed against its own length. Class terms keep
    the weight given (services.matching spreads an offer's classes to add up to 1)."""
    own = length(frequencies)
    norm = 1 - B + B * (own / average_length if average_length else 1.0)
    return {term: tf if is_class_term(term) else tf * (K1 + 1) / (tf + K1 * norm) for term, tf in frequencies.items()}


def idf(documents: int, containing: int) -> float:
    """How rare a term is among `documents`: ln(1 + (N − df + 0.5)/(df + 0.5)), never negative."""
    return math.log(1 + (documents - containing + 0.5) / (containing + 0.5))
