"""ごみ "did you mean": the list items nearest to a name the separation list lacks (issue 15).

    near = WasteNear.load(data_dir, guide)          # waste_near.yml, checked against the list
    near.items("ボタン電池")                          # [WasteItem(乾電池…)]: offered as a choice
    near.items("電子たばこ")                          # []: the list has nothing close; say so

Three ways an item is near, in this order, none of them inventing a category (the resident is
shown the list's items, each with the list's own category, and chooses):

1. words residents use for a list item (`near:` / `near_en:` of waste_near.yml);
2. the kind of thing: the last word of the name ("ボタン電池" → 電池, "アルミ缶" → 缶, "button
   battery" → battery) found in a list item's name;
3. spelling and reading: the name read aloud is close to a list item's (カセットコンロ →
   カセットボンベ), below the cut-off at which `WasteGuide.lookup` answers outright.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.store import knowledge_dir
from knowledge.textproc import fold_kana, prepare, sub_words
from knowledge.waste import WasteGuide, WasteItem, _bases, _reading_key, item_key

PACKAGED = Path(__file__).resolve().parent / "data" / "waste_near.yml"
NEAR_FILE = "waste_near.yml"
NEAR_RATIO = 0.6  # reading similarity worth offering (WasteGuide answers outright from 0.72)
MAX_NEAR = 4
MIN_HEAD = 2  # a kind word of two characters or more needs no list
_EN_WORD = re.compile(r"[a-z][a-z\-]+")


class WasteNearError(ValueError):
    """waste_near.yml is invalid; the message names the entry."""


@dataclass
class WasteNear:
    guide: WasteGuide
    near: dict[str, tuple[str, ...]] = field(default_factory=dict)  # item_key(word) -> list names
    near_en: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lower-case English -> list names
    kinds: tuple[str, ...] = ()

    @classmethod
    def load(cls, data_dir: Path | None, guide: WasteGuide) -> WasteNear:
        local = knowledge_dir(data_dir) / NEAR_FILE if data_dir is not None else None
        path = local if local is not None and local.is_file() else PACKAGED
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise WasteNearError(f"{path.name}: must be a mapping")
        names = {i.name for i in guide.items}
        strict = path != PACKAGED  # the packaged words name the demo list: others' lists may lack them
        near = {
            item_key(str(k)): _names(path.name, "near", k, v, names, strict) for k, v in (raw.get("near") or {}).items()
        }
        near_en = {
            str(k).lower(): _names(path.name, "near_en", k, v, names, strict)
            for k, v in (raw.get("near_en") or {}).items()
        }
        near = {k: v for k, v in near.items() if v}
        near_en = {k: v for k, v in near_en.items() if v}
        return cls(guide, near, near_en, tuple(str(k) for k in raw.get("kinds") or ()))

    def _by_name(self, names: tuple[str, ...]) -> list[WasteItem]:
        return [i for name in names for i in self.guide.items if i.name == name]

    def items(self, name: str) -> list[WasteItem]:
        """List items near the Japanese `name` (an item the list lacks), nearest first."""
        key = item_key(name)
        if not key:
            return []
        for word in sorted(self.near, key=len, reverse=True):  # the longest word residents use first
            if len(word) >= MIN_HEAD and key.endswith(word):  # the thing named is the last word
                return self._by_name(self.near[word])[:MAX_NEAR]
        found = self._same_kind(name)
        found += [i for i in self._sounds_like(name) if i not in found]
        return found[:MAX_NEAR]

    def _same_kind(self, name: str) -> list[WasteItem]:
        """List items of the kind the name's last word says ("ボタン電池" → 電池 → 乾電池, "革靴" →
        靴 → くつ, "日本酒のびん" → 瓶 → ビールびん): a word of two characters or more inside a list
        name, a word read as a list name, or a one-character kind word of the data (缶, 瓶)."""
        words = [w for w in sub_words(prepare(name)) if w.strip()]
        if len(words) < 2:
            return []  # a one-word name is compared by its reading (`_sounds_like`)
        head = words[-1]
        kinds = {w for k in self.kinds for w in sub_words(prepare(k))}
        said = _unvoiced(words[-1])
        found = []
        for item in self.guide.items:
            for base in _bases(item.name):
                base_words = set(sub_words(prepare(base)))
                if (
                    (len(head) >= MIN_HEAD and fold_kana(head) in fold_kana(base))
                    or (head in kinds and (head in base_words or head in base))
                    or said == _unvoiced(base)
                ):
                    found.append(item)
                    break
        key = _unvoiced(name)  # the most alike first ("ビールの缶": 空き缶 before オイル缶)
        return sorted(found, key=lambda i: -max(_ratio(key, _unvoiced(b)) for b in _bases(i.name)))

    def _sounds_like(self, name: str) -> list[WasteItem]:
        """List items whose name, read aloud without voicing marks (傘 かさ / 折りたたみ傘 …がさ),
        is close to the name's."""
        key = _unvoiced(name)
        scored: list[tuple[float, WasteItem]] = []
        for item in self.guide.items:
            best = max(difflib.SequenceMatcher(None, key, _unvoiced(b)).ratio() for b in _bases(item.name))
            if best >= NEAR_RATIO:
                scored.append((best, item))
        return [i for _r, i in sorted(scored, key=lambda s: -s[0])]

    def items_en(self, phrase: str, english_names: dict[str, str]) -> list[WasteItem]:
        """List items near an English `phrase` ("button battery", "sneakers"): words residents
        use, then its last word in an English item name, then spelling."""
        low = phrase.lower().strip()
        for word in sorted(self.near_en, key=len, reverse=True):
            if re.search(rf"\b{re.escape(word)}\b", low):
                return self._by_name(self.near_en[word])[:MAX_NEAR]
        words = _EN_WORD.findall(low)
        if not words:
            return []
        head = words[-1].rstrip("s") if len(words[-1]) > 3 else words[-1]
        names = [ja for en, ja in english_names.items() if head in _EN_WORD.findall(en) or f"{head}s" in en.split()]
        if not names:
            close = difflib.get_close_matches(low, list(english_names), n=MAX_NEAR, cutoff=0.75)
            names = [english_names[c] for c in close]
        return self._by_name(tuple(dict.fromkeys(names)))[:MAX_NEAR]


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _unvoiced(text: str) -> str:
    """The reading key without voicing marks: rendaku (くつ → ぐつ) does not make words apart."""
    decomposed = unicodedata.normalize("NFD", _reading_key(text))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in "\u3099\u309a"))


def _names(file: str, section: str, word: Any, value: Any, listed: set[str], strict: bool) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise WasteNearError(f"{file}: {section}: {word!r}: must be a list of item names")
    unknown = [str(v) for v in value if str(v) not in listed]
    if unknown and strict:
        raise WasteNearError(f"{file}: {section}: {word!r}: not in the ごみ list: {', '.join(unknown)}")
    return tuple(str(v) for v in value if str(v) in listed)
