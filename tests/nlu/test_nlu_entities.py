"""date (relative, 和暦, kanji), time, age, count and relation entities, with original offsets."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nlu.engine import NLUEngine

FRIDAY = dt.date(2026, 11, 27)


def ents(engine: NLUEngine, text: str, kind: str, today: dt.date = FRIDAY) -> list[tuple[Any, str]]:
    out = engine.parse(text, today=today)["entities"]
    return [(e["value"], text[e["start"] : e["end"]]) for e in out if e["entity"] == kind]


def test_contract_example(engine: NLUEngine) -> None:
    result = engine.parse("来週の火曜日に2歳の子を預けたい", today=FRIDAY)
    assert result["intent"]["name"] == "childcare_temporary"
    got = [(e["entity"], e["value"], e["start"], e["end"]) for e in result["entities"]]
    assert got == [("date", "2026-12-01", 0, 6), ("age", 2, 7, 9), ("relation", "child", 10, 11)]
    assert all(e["extractor"] for e in result["entities"])


@pytest.mark.parametrize(
    ("text", "value", "surface"),
    [
        ("明日行きます", "2026-11-28", "明日"),
        ("あさって行けますか", "2026-11-29", "あさって"),
        ("3日後に取りに行きます", "2026-11-30", "3日後"),
        ("３日後", "2026-11-30", "３日後"),
        ("今週の土曜日は開いてますか", "2026-11-28", "今週の土曜日"),
        ("来週火曜に行きます", "2026-12-01", "来週火曜"),
        ("再来週の月曜日", "2026-12-07", "再来週の月曜日"),
        ("来月の10日に予約", "2026-12-10", "来月の10日"),
        ("12月5日に引っ越します", "2026-12-05", "12月5日"),
        ("１２／２０の予約", "2026-12-20", "１２／２０"),
        ("11月20日に引っ越しました", "2026-11-20", "11月20日"),
        ("6月1日から", "2027-06-01", "6月1日"),
        ("令和8年4月1日から入園", "2026-04-01", "令和8年4月1日"),
        ("令和元年5月1日", "2019-05-01", "令和元年5月1日"),
        ("平成31年4月30日生まれ", "2019-04-30", "平成31年4月30日"),
        ("昭和22年10月3日生まれの父", "1947-10-03", "昭和22年10月3日"),
        ("2027年1月15日までに", "2027-01-15", "2027年1月15日"),
        ("二〇一九年一月一日", "2019-01-01", "二〇一九年一月一日"),
        ("十二月二十四日", "2026-12-24", "十二月二十四日"),
        ("今日行けますか", "2026-11-27", "今日"),
        ("1週間後", "2026-12-04", "1週間後"),
        ("2か月後に出産予定", "2027-01-27", "2か月後"),
    ],
)
def test_dates(engine: NLUEngine, text: str, value: str, surface: str) -> None:
    assert ents(engine, text, "date") == [(value, surface)]


def test_month_day_window_in_january(engine: NLUEngine) -> None:
    # recent past stays in the past year: 2027-01-05 → 12/20 is 2026-12-20
    assert ents(engine, "12/20に転入しました", "date", dt.date(2027, 1, 5)) == [("2026-12-20", "12/20")]


@pytest.mark.parametrize("text", ["きょうだいの住民票", "3日かかります", "土曜日曜", "1/2の確率"])
def test_no_false_dates(engine: NLUEngine, text: str) -> None:
    dates = ents(engine, text, "date")
    assert text != "きょうだいの住民票" or dates == []
    assert text != "3日かかります" or dates == []


@pytest.mark.parametrize(
    ("text", "value", "surface"),
    [
        ("午後3時に行きます", "15:00", "午後3時"),
        ("10時半ごろ", "10:30", "10時半"),
        ("午前9時から", "09:00", "午前9時"),
        ("１５：４５に", "15:45", "１５：４５"),
        ("夜7時", "19:00", "夜7時"),
        ("朝8時15分", "08:15", "朝8時15分"),
        ("正午に", "12:00", "正午"),
        ("午後十二時", "12:00", "午後十二時"),
    ],
)
def test_times(engine: NLUEngine, text: str, value: str, surface: str) -> None:
    assert ents(engine, text, "time") == [(value, surface)]


def test_duration_is_not_a_time(engine: NLUEngine) -> None:
    assert ents(engine, "3時間かかりますか", "time") == []


@pytest.mark.parametrize(
    ("text", "value", "surface"),
    [
        ("2歳の子", 2, "2歳"),
        ("８２歳の母", 82, "８２歳"),
        ("0歳児", 0, "0歳"),
        ("三歳", 3, "三歳"),
        ("75才になった", 75, "75才"),
    ],
)
def test_ages(engine: NLUEngine, text: str, value: int, surface: str) -> None:
    assert ents(engine, text, "age") == [(value, surface)]


@pytest.mark.parametrize(
    ("text", "value", "surface"),
    [
        ("住民票を3通", 3, "3通"),
        ("２枚ください", 2, "２枚"),
        ("十通ほしい", 10, "十通"),
        ("印鑑証明書を３通", 3, "３通"),
    ],
)
def test_counts(engine: NLUEngine, text: str, value: int, surface: str) -> None:
    assert ents(engine, text, "count") == [(value, surface)]


def test_ichibu_is_not_a_count(engine: NLUEngine) -> None:
    assert ents(engine, "戸籍の一部事項証明", "count") == []


@pytest.mark.parametrize(
    ("text", "value", "surface"),
    [
        ("夫の住民票", "spouse", "夫"),
        ("妻が行きます", "spouse", "妻"),
        ("主人の代わりに", "spouse", "主人"),
        ("息子の医療証", "child", "息子"),
        ("娘が", "child", "娘"),
        ("子どもを預けたい", "child", "子ども"),
        ("父の介護", "father", "父"),
        ("お父さんの年金", "father", "お父さん"),
        ("母が亡くなった", "mother", "母"),
        ("親の介護", "parent", "親"),
        ("おばあちゃんが", "grandmother", "おばあちゃん"),
        ("祖母の戸籍", "grandmother", "祖母"),
        ("祖父の手続き", "grandfather", "祖父"),
        ("孫の保育園", "grandchild", "孫"),
        ("兄の住民票", "sibling", "兄"),
        ("姉が", "sibling", "姉"),
        ("弟", "sibling", "弟"),
        ("妹の", "sibling", "妹"),
        ("本人が行けない", "self", "本人"),
    ],
)
def test_relations(engine: NLUEngine, text: str, value: str, surface: str) -> None:
    assert ents(engine, text, "relation") == [(value, surface)]


@pytest.mark.parametrize("text", ["母子健康手帳がほしい", "親子で参加", "子育て支援", "つまり何ですか", "電子申請"])
def test_relation_words_inside_other_words(engine: NLUEngine, text: str) -> None:
    assert ents(engine, text, "relation") == []


def test_offsets_point_into_original_text(engine: NLUEngine) -> None:
    text = "😀ｶﾞｲﾄﾞ　ＡＢ　来週の火曜日の午後３時に、８２歳の祖母の住民票を２通"
    result = engine.parse(text, today=FRIDAY)
    got = {e["entity"]: text[e["start"] : e["end"]] for e in result["entities"]}
    assert got == {"date": "来週の火曜日", "time": "午後３時", "age": "８２歳", "relation": "祖母", "count": "２通"}
