"""Places in the municipality: a typed address normalised to a town (町丁目), a location checked
against the municipality's boundary and named by its nearest town.

Typed addresses are matched by the town's name (緑ケ丘 / 緑ヶ丘 / 緑が丘) or its reading
(さくらだい), then the 丁目 that follows it ("2丁目", "2-3", "二丁目"). A near miss ("桜代", "みどりがおかa")
is never guessed: it comes back as `suggestions` for a "did you mean" choice, and so does a 丁目
the town does not have.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass, field

from knowledge.textproc import fold_kana
from nlu.numerals import parse_number

EARTH_RADIUS_M = 6_371_000.0
CLOSE_ENOUGH = 0.5  # difflib ratio for a "did you mean" suggestion
_CHOME = re.compile(r"^\s*([0-9]+|[〇一二三四五六七八九十]+)\s*(?:丁目|ちょうめ|[-‐－ー−の](?=[0-9]))")
_REST = re.compile(r"^[\s0-9０-９〇一二三四五六七八九十丁目番地号の\-‐－ー−]+")
_NUMBERS = re.compile(r"[0-9]")
# another municipality named before (or instead of) a town: "東京都中央区銀座", "横浜市…"
_ELSEWHERE = re.compile(r"[^\s0-9]+?[都道府県市区郡村]")


@dataclass(frozen=True)
class Town:
    name: str
    kana: str
    chome: int  # 0: the town has no 丁目
    center: tuple[float, float]

    def variants(self) -> set[str]:
        return {self.name, self.name.replace("ケ", "ヶ"), self.name.replace("ケ", "が"), self.name.replace("ケ", "ヵ")}


@dataclass(frozen=True)
class PlaceMatch:
    town: Town | None = None
    chome: int | None = None
    rest: str = ""  # 番地 after the 丁目, as typed ("3-4")
    suggestions: tuple[str, ...] = ()  # town names to offer when unsure
    elsewhere: bool = False  # the address names another municipality

    @property
    def sure(self) -> bool:
        return self.town is not None and not self.suggestions


@dataclass
class Places:
    municipality: str
    boundary: list[tuple[float, float]]
    towns: list[Town] = field(default_factory=list)

    def town(self, name: str) -> Town | None:
        return next((t for t in self.towns if t.name == name), None)

    # -- typed addresses --------------------------------------------------------------------
    def match(self, text: str) -> PlaceMatch:
        text = unicodedata.normalize("NFKC", text).replace(self.municipality, " ")
        found = self._named(text) or self._by_reading(text)
        if found is None:
            if _ELSEWHERE.search(_NUMBERS.split(text, maxsplit=1)[0]):
                return PlaceMatch(elsewhere=True)
            return PlaceMatch(suggestions=self._close(text))
        town, after = found
        before = text[: max(text.find(v) for v in town.variants())]
        if _ELSEWHERE.search(before):
            return PlaceMatch(elsewhere=True)
        chome, rest = self._chome(after)
        if chome is not None and (chome < 1 or chome > max(town.chome, 0)):
            # "桜台7丁目": the town has fewer 丁目 — ask rather than file it in the wrong place
            return PlaceMatch(town=town, chome=None, rest=rest, suggestions=(town.name,))
        return PlaceMatch(town=town, chome=chome, rest=rest)

    def _named(self, text: str) -> tuple[Town, str] | None:
        best: tuple[Town, str, int] | None = None
        for town in self.towns:
            for variant in town.variants():
                at = text.find(variant)
                if at >= 0 and (best is None or len(variant) > best[2]):
                    best = (town, text[at + len(variant) :], len(variant))
        return (best[0], best[1]) if best else None

    def _by_reading(self, text: str) -> tuple[Town, str] | None:
        head = _NUMBERS.split(text, maxsplit=1)[0]
        folded = fold_kana(head).replace(" ", "")
        for town in sorted(self.towns, key=lambda t: -len(t.kana)):
            key = fold_kana(town.kana)
            if key and key in folded:
                return town, text[len(head) :]
        return None

    def _close(self, text: str) -> tuple[str, ...]:
        head = fold_kana(_NUMBERS.split(text, maxsplit=1)[0]).strip()
        if not head:
            return ()
        scored = []
        for town in self.towns:
            score = max(
                difflib.SequenceMatcher(None, head, fold_kana(town.kana)).ratio(),
                difflib.SequenceMatcher(None, head, town.name).ratio(),
                *(difflib.SequenceMatcher(None, head[: len(v) + 1], v).ratio() for v in town.variants()),
            )
            if score >= CLOSE_ENOUGH:
                scored.append((score, town.name))
        return tuple(name for _, name in sorted(scored, reverse=True)[:3])

    @staticmethod
    def _chome(after: str) -> tuple[int | None, str]:
        match = _CHOME.match(after)
        if match is None:
            rest = _REST.match(after)
            return None, rest.group(0).strip(" -") if rest else ""
        chome = parse_number(match.group(1))
        tail = _REST.match(after[match.end() :])
        return chome, tail.group(0).strip(" -") if tail else ""

    # -- locations --------------------------------------------------------------------------
    def inside(self, lat: float, lon: float) -> bool:
        """Ray casting over the boundary polygon (points are [latitude, longitude])."""
        inside = False
        points = self.boundary
        j = len(points) - 1
        for i, (lat_i, lon_i) in enumerate(points):
            lat_j, lon_j = points[j]
            if (lat_i > lat) != (lat_j > lat):
                crossing = lon_i + (lat - lat_i) * (lon_j - lon_i) / (lat_j - lat_i)
                if lon < crossing:
                    inside = not inside
            j = i
        return inside

    def nearest_town(self, lat: float, lon: float) -> Town:
        return min(self.towns, key=lambda t: distance_m((lat, lon), t.center))

    def label(self, town: Town, chome: int | None, rest: str = "") -> str:
        """デモ区桜台2丁目3-4"""
        return f"{self.municipality}{town.name}{f'{chome}丁目' if chome else ''}{rest}"


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))
