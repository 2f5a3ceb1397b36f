"""住民票・印鑑証明・税証明: the form end to end, with the fee computed from the catalog."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from knowledge.catalog import Catalog

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.fixture(autouse=True)
def fixed_clock(services) -> None:  # type: ignore[no-untyped-def]
    services.clock = lambda: NOW


@pytest.fixture
def catalog(services) -> Catalog:  # type: ignore[no-untyped-def]
    return services.knowledge["catalog"]


def juminhyo_fee(catalog: Catalog) -> int:
    fee = catalog.procedure("juminhyo").copy_fee
    assert fee is not None
    return fee.amount


async def test_slots_from_the_first_message_then_checklist(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票を2通、郵送でほしい")
    assert "どなたの証明書" in bot.text  # count and method came with the first message
    await bot.press("ご本人")
    assert "記載する内容" in bot.text and "何通" not in bot.text and "受け取り方を" not in bot.text
    await bot.press("本籍・続柄の記載あり")
    fee = juminhyo_fee(catalog)
    assert "通数：2通" in bot.text and "受け取り方：郵送" in bot.text
    assert f"{fee}円 × 2通 = {fee * 2:,}円" in bot.text
    await bot.press("はい")
    mail = catalog.procedure("juminhyo").mail
    assert mail is not None
    assert "郵送で送るもの" in bot.text
    assert all(f"□ {d}" in bot.text for d in mail.documents)
    assert mail.address.startswith("〒") and f"送り先：{mail.address}" in bot.text  # QA M8: where to send it
    assert "定額小為替で同封" in bot.text
    assert "請求が済んだわけではありません" in bot.text  # guidance, not an application


async def test_correction_at_confirmation_updates_the_fee(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票を2通、窓口でほしい")
    await bot.press("ご本人")
    await bot.press("本籍・続柄の記載なし（一般的な証明）")
    assert "この内容でよろしいですか" in bot.text
    await bot.say("3通に変更してください")
    fee = juminhyo_fee(catalog)
    assert "通数：3通" in bot.text and f"= {fee * 3:,}円" in bot.text
    await bot.press("はい")
    office = catalog.office_of(catalog.procedure("juminhyo"))
    assert f"{office.name}（{office.where}）" in bot.text
    assert f"手数料：{fee}円 × 3通 = {fee * 3:,}円" in bot.text


async def test_correction_that_reads_as_yes_is_not_taken_as_yes(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票を2通、窓口でほしい")
    await bot.press("ご本人")
    await bot.press("本籍・続柄の記載なし（一般的な証明）")
    await bot.say("3通でお願いします")  # the NLU reads "お願いします" as affirm
    assert "この内容でよろしいですか" in bot.text and "通数：3通" in bot.text


async def test_yappari_correction_from_the_issue(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票を2通、窓口でほしい")
    await bot.press("ご本人")
    await bot.press("本籍・続柄の記載なし（一般的な証明）")
    await bot.say("やっぱり3通で")
    assert "通数：3通" in bot.text


async def test_change_button_asks_which_item_then_that_item(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票を1通、窓口でほしい")
    await bot.press("ご本人")
    await bot.press("本籍・続柄の記載なし（一般的な証明）")
    await bot.press("変更する")
    assert "どの項目を変更しますか" in bot.text
    await bot.press("受け取り方")
    assert "受け取り方を選んでください" in bot.text
    await bot.press("コンビニ")
    assert "受け取り方：コンビニ" in bot.text


async def test_cancel_midway(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票がほしい")
    await bot.press("同じ世帯のご家族")
    assert "何通" in bot.text
    await bot.say("やめます")
    assert "取りやめました" in bot.text
    await bot.say("2通")
    assert "この内容でよろしいですか" not in bot.text and "記載する内容" not in bot.text


@pytest.mark.parametrize(("answer", "said"), [("0通", "0通ではお受けできません"), ("100通", "10通までです")])
async def test_copies_out_of_range_are_refused_plainly(bot, answer: str, said: str) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票がほしい")
    await bot.press("ご本人")
    await bot.say(answer)
    assert said in bot.text
    assert "何通必要ですか" in bot.text  # asked again
    await bot.say("2通")
    assert "記載する内容" in bot.text


async def test_interruption_is_answered_then_the_form_asks_again(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票がほしい")
    await bot.press("ご本人")
    await bot.say("国民健康保険の窓口はどこ？")
    office = catalog.office_of(catalog.procedure("health_insurance"))
    assert office.where in bot.text
    assert "住民票の写しの請求の続きです" in bot.text and "何通必要ですか" in bot.text
    await bot.say("1通")
    assert "記載する内容" in bot.text


async def test_bulky_waste_fee_question_mid_form(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票がほしい")
    await bot.press("ご本人")
    await bot.say("粗大ごみの料金は？")
    assert "円" in bot.text  # answered by the 粗大ごみ handler ...
    assert "何通必要ですか" in bot.text  # ... and the certificate form asks again


async def test_inkan_certificate_cannot_be_mailed(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    assert catalog.procedure("inkan").mail is None
    await bot.say("印鑑証明を1通ほしい")
    await bot.press("ご本人")
    assert "郵送" not in bot.button_titles and "窓口" in bot.button_titles
    await bot.say("郵送で")
    assert "郵送では請求できません" in bot.text and "受け取り方を選んでください" in bot.text


async def test_proxy_cannot_use_the_convenience_store_and_needs_a_letter(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票を1通ほしい")
    await bot.say("代理人です")
    await bot.press("本籍・続柄の記載なし（一般的な証明）")
    await bot.press("コンビニ")
    assert "代理の方は使えません" in bot.text
    await bot.press("窓口")
    await bot.press("はい")
    assert "□ 委任状（ご本人が書いたもの）" in bot.text


async def test_convenience_store_uses_its_own_fee(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    conv = catalog.procedure("juminhyo").convenience
    assert conv is not None and conv.fee is not None
    await bot.say("住民票を2通コンビニで取りたい")
    await bot.press("ご本人")
    await bot.press("本籍・続柄の記載なし（一般的な証明）")
    assert f"{conv.fee}円 × 2通 = {conv.fee * 2:,}円" in bot.text
    await bot.press("はい")
    assert "コンビニで必要なもの" in bot.text and all(f"□ {d}" in bot.text for d in conv.documents)


async def test_tax_certificate_asks_the_fiscal_year(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say("課税証明書を1通ほしい")
    await bot.press("ご本人")
    assert "何年度" in bot.text
    assert bot.button_titles[0] == "令和8年度（令和7年1〜12月の所得）"  # June 2026 onward: 令和8年度
    await bot.say("令和9年度の分")
    assert "令和9年度の証明書はまだ発行していません" in bot.text
    await bot.say("去年度の分")
    assert "受け取り方" in bot.text
    await bot.press("窓口")
    assert "令和7年度（令和6年1〜12月の所得）" in bot.text
    fee = catalog.procedure("tax_certificate").copy_fee
    assert fee is not None and f"= {fee.amount:,}円" in bot.text


async def test_a_plain_question_gets_the_card_not_the_form(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票の手数料はいくら？")
    assert catalog.procedure("juminhyo").fees[0].text in bot.text
    assert "どなたの証明書" not in bot.text
    await bot.press("請求の準備をする")
    assert "どなたの証明書" in bot.text


async def test_inkan_registration_is_information_only(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say("印鑑登録をしたい")
    assert "印鑑登録 無料" in bot.text and "どなたの証明書" not in bot.text
    assert "詳しく" in bot.button_titles
