"""From class probabilities to the final intent: sensitive-intent backstop and nlu_fallback."""

from __future__ import annotations

import re

import numpy as np

FALLBACK = "nlu_fallback"
DV_INTENT = "dv_abuse"
RANKING_SIZE = 10
# Missing a DV/abuse/danger message is worse than a false alarm: these words always escalate.
# Only words that mean violence, abuse or danger to a person (not 危険 alone: 洪水の危険).
DV_KEYWORDS = re.compile(
    r"暴力(?!団)|殴ら|殴る|殴って|殴り|なぐら|なぐられ|蹴ら|蹴られ|叩か|手をあげ|怒鳴ら|怒鳴り|虐待|ぎゃくたい"
    r"|(?<![a-z])dv(?![a-z])|でぃーぶい"
    r"|ストーカー|つきまと|付きまと|脅さ|脅迫|監禁|首を絞め|殺す|殺され|殺さ|死にたい|しにたい|消えたい|自殺"
    r"|身の危険|性被害|性暴力|シェルター|モラハラ|逃げたい|逃げてき|加害者|暴言|助けて|たすけて"
    r"|消えてしまいたい|生きていたくない|生きていけない"
)
# A real danger/abuse cue: needed before the *model* alone may answer dv_abuse (a keyword above
# always counts). Without one, dv_abuse is not answered however the classifier ranks it, so an
# ordinary word that merely looks like the DV examples (ぬいぐるみ, 預かり …) is not escalated.
DV_CUES = re.compile(
    r"怖|こわ|恐ろし|恐い|恐く|恐怖|危な|危険を感|暴|殴|なぐ|叩|たたか|蹴|虐|怒鳴|どな|脅|おどさ|おどか|逃げ|にげ|追いかけ|追い回"
    r"|つきまと|付きまと|閉じ込め|監禁|乱暴|被害|加害|怪我|けが|あざ(?!す)|痣|首を|死に|死ぬ|死の|しにたい|しぬ"
    r"|消えたい|消えてしまい|生きて(?:いけ|いたく|る意味)|生きるのが"
    r"|助け|たすけ|保護して|支援措置|居場所|住所を(?:知られ|隠)|知られたくない|外出|外に出(?:して|させ)"
    r"|お金を(?:渡|くれ)|生活費を(?:くれ|渡)|食事を(?:与え|くれ)|束縛|支配|監視|無視され"
    r"|(?<![a-z])dv(?![a-z])|でぃーぶい|モラハラ|ハラスメント|ストーカー|性的|性被害|性暴力"
    r"|帰れない|帰りたくない|家にいたくない|家にいられない|家に帰るのが|シェルター|限界です|泣き声|悲鳴|叫び声|物が壊れる|投げられ|投げつけ"
)
# Asking *about* abuse (a lecture, a campaign, statistics) with no one in danger is information,
# not an emergency: it is escalated only if a personal cue comes with it.
DV_INFO_CONTEXT = re.compile(
    r"講座|研修|セミナー|講演|講習|啓発|防止月間|キャンペーン|リボン|ボランティア|資格|統計|件数|ニュース"
    r"|ポスター|パンフレット|リーフレット|学習会|勉強会|授業|レポート|論文"
)
# Fleeing a flood or a fire is not fleeing a person: in a disaster context these weak cues do not count.
DV_DISASTER_CONTEXT = re.compile(
    r"津波|地震|洪水|浸水|台風|大雨|豪雨|火事|火災|噴火|土砂|崖|がけ|避難|災害|停電|断水|川"
)
DV_WEAK_CUES = re.compile(r"怖|こわ|恐ろし|恐い|恐く|恐怖|危な|逃げ|にげ|助け|たすけ")
DV_PERSONAL = re.compile(
    r"され|受け|られ|怖|こわ|助け|たすけ|逃げ|夫|妻|彼|親|父|母|子が|子を|隣|近所|私|わたし|うち|自分|家族|今"
)
# With a cue: a DV/abuse probability this high wins when it is ranked second, and a top-ranked
# dv_abuse at least this likely never falls back (below the general threshold it still escalates).
# (The cue requirement is what keeps these low bars from firing on ordinary words.)
DV_MIN_PROB = 0.10
DV_TOP_MIN_PROB = 0.2


def _swap_to_top(probs: np.ndarray, k: int) -> np.ndarray:
    probs = probs.copy()
    top = int(probs.argmax())
    probs[top], probs[k] = probs[k], probs[top]
    return probs


def _without(probs: np.ndarray, k: int) -> np.ndarray:
    """The distribution with class k ruled out (renormalized over the others)."""
    probs = probs.copy()
    probs[k] = 0.0
    total = probs.sum()
    return probs / total if total > 0 else probs


def dv_signals(norm_text: str) -> tuple[bool, bool]:
    """(keyword, cue) for the normalized text; an informational mention without a personal cue
    ("虐待防止の講座はありますか") gives neither."""
    keyword = DV_KEYWORDS.search(norm_text) is not None
    cue = keyword or DV_CUES.search(norm_text) is not None
    if cue and not keyword and DV_DISASTER_CONTEXT.search(norm_text):
        cue = DV_CUES.search(DV_WEAK_CUES.sub(" ", norm_text)) is not None
    if cue and DV_INFO_CONTEXT.search(norm_text) and not DV_PERSONAL.search(norm_text):
        return False, False
    return keyword, cue


def adjust(probs: np.ndarray, labels: list[str], norm_text: str) -> tuple[np.ndarray, bool]:
    """Apply the DV/abuse backstop. Returns the probabilities and whether the answer must be
    dv_abuse whatever the fallback threshold says."""
    if DV_INTENT not in labels:
        return probs, False
    k = labels.index(DV_INTENT)
    keyword, cue = dv_signals(norm_text)
    if keyword:
        return (probs if int(probs.argmax()) == k else _swap_to_top(probs, k)), True
    if not cue:  # the model alone never answers dv_abuse without a danger/abuse cue
        return (_without(probs, k) if int(probs.argmax()) == k else probs), False
    if int(probs.argmax()) == k:
        return probs, probs[k] >= DV_TOP_MIN_PROB
    second = int(np.argsort(probs)[-2])
    if second == k and probs[k] >= DV_MIN_PROB:
        return _swap_to_top(probs, k), True
    return probs, False


def decide(
    probs: np.ndarray, labels: list[str], norm_text: str, threshold: float
) -> tuple[dict[str, object], list[dict[str, object]]]:
    """Intent and ranking (Rasa format). Below `threshold` the intent is nlu_fallback, whose
    confidence is the threshold itself and which heads the ranking, as Rasa's FallbackClassifier does."""
    probs, forced = adjust(probs, labels, norm_text)
    order = np.argsort(-probs, kind="stable")[:RANKING_SIZE]
    ranking: list[dict[str, object]] = [{"name": labels[i], "confidence": round(float(probs[i]), 4)} for i in order]
    top = ranking[0]
    if not forced and float(probs[order[0]]) < threshold:
        fallback = {"name": FALLBACK, "confidence": threshold}
        return fallback, [fallback, *ranking[: RANKING_SIZE - 1]]
    return dict(top), ranking


def fallback_only(threshold: float) -> tuple[dict[str, object], list[dict[str, object]]]:
    fallback = {"name": FALLBACK, "confidence": threshold}
    return fallback, [dict(fallback)]
