"""ごみ分別: import a municipality's separation list and answer "Xは何ごみ？" from it.

The CSV has the column form of Takamatsu's open data 0074.csv: ``#property`` (id), ``name``,
``classification`` and ``note``. Answers are built only from those fields.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from knowledge.store import (
    WASTE_FILE,
    KnowledgeImportError,
    knowledge_dir,
    read_json,
    read_text_file,
    write_json_atomic,
)
from knowledge.textproc import fold_kana, prepare, reading, sub_words

_PAREN = re.compile(r"[（(][^）)]*[）)]")
_NOISE = re.compile(r"[\s、。,.・/／「」『』?？!！]+")
_CUE = re.compile(
    r"(は|って|ってさ|を|の|が|も)?\s*("
    r"(何|なに|なん)の?(ごみ|ゴミ|ごみ)|どの(ごみ|ゴミ)|捨て方|出し方|処分の?方法|分別|"
    r"どう(やって|したら|すれば|すると)?|どこに|どうやって|"
    r"(捨て|処分し|処分す|出し|出せ|出す)(たい|る|ます|れば|たら|ても|て|方)|"
    r"(燃える|燃やせる|燃えない|資源|粗大)(ごみ|ゴミ)"
    r")"
)
_TRAILING = re.compile(r"(は|って|を|の|が|も|とか|って何)+$")
FUZZY_CUTOFF = 0.72


@dataclass(frozen=True)
class WasteItem:
    id: str
    name: str
    category: str
    note: str = ""


@dataclass(frozen=True)
class WasteAnswer:
    item: str  # the item name as listed
    category: str  # 分別区分
    note: str  # size / weight limits and how to put it out, as listed
    sentence: str  # short polite answer built from the fields above
    candidates: list[WasteItem] = field(default_factory=list)  # when ambiguous, all close items

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1


# ---------------------------------------------------------------- import


def parse_waste_csv(path: Path) -> list[WasteItem]:
    reader = csv.DictReader(io.StringIO(read_text_file(path)))
    header = [h.strip().lstrip("#").lower() for h in reader.fieldnames or []]
    missing = [col for col in ("name", "classification") if col not in header]
    if missing:
        raise KnowledgeImportError(f"CSV header: missing column(s) {', '.join(missing)} (found: {header})")
    reader.fieldnames = header
    items: list[WasteItem] = []
    for rowno, row in enumerate(reader, start=2):
        name, category = (row.get("name") or "").strip(), (row.get("classification") or "").strip()
        if not name and not category:
            continue  # blank trailing rows exist in the source
        if not name:
            raise KnowledgeImportError(f"row {rowno}: field 'name' is empty")
        if not category:
            raise KnowledgeImportError(f"row {rowno}: field 'classification' is empty")
        item_id = (row.get("property") or "").strip() or str(rowno - 1)
        items.append(WasteItem(item_id, name, category, (row.get("note") or "").strip()))
    if not items:
        raise KnowledgeImportError("CSV has no items")
    return items


def import_waste(path: Path, data_dir: Path) -> int:
    """Validate ``path`` and replace the stored separation list atomically; returns the item count."""
    items = parse_waste_csv(path)
    payload = {"version": 1, "source": Path(path).name, "items": [asdict(i) for i in items]}
    write_json_atomic(knowledge_dir(data_dir) / WASTE_FILE, payload)
    return len(items)


# ---------------------------------------------------------------- matching


def item_key(text: str) -> str:
    """Lenient comparison key: normalized, hiragana, no long vowels/small kana, no punctuation."""
    return _NOISE.sub("", fold_kana(prepare(text)))


def _norm_key(text: str) -> str:
    """Key from Sudachi normalized forms (ゴミ袋/ごみ袋, 缶詰め/缶詰 meet here)."""
    return item_key("".join(sub_words(text))) or item_key(text)


def _reading_key(text: str) -> str:
    """Key from the Sudachi reading, so that kanji and kana spellings meet (炊飯器/すいはんき)."""
    return item_key(reading(_NOISE.sub("", text)))


def extract_item(message: str) -> str:
    """The item a resident asks about: "ペットボトルは何ごみ？" → "ペットボトル"."""
    text = prepare(message)
    match = _CUE.search(text)
    if match and match.start() > 0:
        text = text[: match.start()]
    text = _NOISE.sub(" ", text).strip()
    text = _TRAILING.sub("", text).strip()
    return text


class WasteGuide:
    def __init__(self, items: list[WasteItem]) -> None:
        self.items = items
        self._exact: dict[str, list[WasteItem]] = {}
        self._base: dict[str, list[WasteItem]] = {}
        for item in items:
            self._exact.setdefault(item_key(item.name), []).append(item)
            for base in _bases(item.name):
                for key in {item_key(base), _norm_key(base), _reading_key(base)}:
                    self._base.setdefault(key, []).append(item)
        # each key's length and letters: upper bounds of a spelling's likeness, checked before
        # the full comparison (as difflib.get_close_matches does), so most keys cost no matcher
        self._letters = {key: (len(key), Counter(key)) for key in self._base}

    @classmethod
    def load(cls, data_dir: Path) -> WasteGuide:
        data = read_json(knowledge_dir(data_dir) / WASTE_FILE)
        return cls([WasteItem(**i) for i in data["items"]] if data else [])

    def __len__(self) -> int:
        return len(self.items)

    def lookup(self, text: str, cutoff: float = FUZZY_CUTOFF) -> WasteAnswer | None:
        """Answer for an item name or a whole message; None when nothing is close enough (a
        spelling `cutoff` alike; the chat asks a higher one and offers the rest as a choice)."""
        for query in dict.fromkeys([text, extract_item(text)]):
            found = self._match(query, cutoff)
            if found:
                return _answer(found)
        return None

    def _match(self, query: str, cutoff: float = FUZZY_CUTOFF) -> list[WasteItem]:
        key = item_key(query)
        if not key:
            return []
        if key in self._exact:
            return self._exact[key]
        for k in (key, _norm_key(query), _reading_key(query)):
            if k in self._base:
                return list(dict.fromkeys(self._base[k]))
        return self._fuzzy(key, cutoff) or self._fuzzy(_reading_key(query), cutoff)

    def _fuzzy(self, key: str, cutoff: float = FUZZY_CUTOFF) -> list[WasteItem]:
        scored = []
        size, letters = len(key), Counter(key)
        for base_key, items in self._base.items():
            length, counts = self._letters[base_key]
            total = size + length  # 0: two empty keys, alike (ratio 1.0)
            if total and 2.0 * min(size, length) / total < cutoff:  # difflib's real_quick_ratio
                continue
            shared = sum(min(n, counts[ch]) for ch, n in letters.items() if ch in counts)
            if total and 2.0 * shared / total < cutoff:  # difflib's quick_ratio
                continue
            ratio = difflib.SequenceMatcher(None, key, base_key).ratio()
            if ratio >= cutoff:
                scored.append((ratio, items))
        if not scored:
            return []
        best = max(r for r, _ in scored)
        close = [i for r, items in sorted(scored, key=lambda s: -s[0]) if r >= best - 0.05 for i in items]
        return list(dict.fromkeys(close))


def _bases(name: str) -> list[str]:
    """Names an item can be asked by: as listed, without （…）, and each ・-separated part."""
    base = _PAREN.sub("", name).split("　")[0].strip()
    parts = [p for p in re.split(r"[・、]", base) if p.strip()]
    return list(dict.fromkeys([name, base, *parts]))


def _answer(items: list[WasteItem]) -> WasteAnswer:
    first = items[0]
    if len(items) == 1:
        return WasteAnswer(first.name, first.category, first.note, _sentence(first), [first])
    listed = "、".join(f"「{i.name}」は「{i.category}」" for i in items[:5])
    sentence = f"{listed}です。どれにあたりますか？"
    return WasteAnswer(first.name, first.category, first.note, sentence, items)


def _sentence(item: WasteItem) -> str:
    sentence = f"「{item.name}」は「{item.category}」です。"
    note = re.sub(r"\s*\n\s*", "。", item.note).strip("。 ")
    return sentence + (f"{note}。" if note else "")


# ---------------------------------------------------------------- command line


def register(subparsers) -> None:  # type: ignore[no-untyped-def]
    """Add the ``waste`` command group (import, lookup) to the ``python -m knowledge`` parser."""
    group = subparsers.add_parser("waste", help="ごみ分別 list").add_subparsers(dest="action", required=True)
    imp = group.add_parser("import", help="replace the separation list with a CSV (0074.csv form)")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=_cmd_import)
    look = group.add_parser("lookup", help="answer 'Xは何ごみ？' questions")
    look.add_argument("text", nargs="+")
    look.set_defaults(func=_cmd_lookup)


def _cmd_import(args) -> int:  # type: ignore[no-untyped-def]
    count = import_waste(args.file, args.data_dir)
    print(f"imported {count} items from {args.file}")
    return 0


def _cmd_lookup(args) -> int:  # type: ignore[no-untyped-def]
    guide = WasteGuide.load(args.data_dir)
    for text in args.text:
        answer = guide.lookup(text)
        print(answer.sentence if answer else f"「{text}」は一覧に見つかりませんでした。")
    return 0
