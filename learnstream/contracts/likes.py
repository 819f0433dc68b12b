"""Like toggles (topic ``learnstream.likes``), after the seed's ``like_engagement``."""

from __future__ import annotations

from typing import ClassVar, Literal

from learnstream.contracts.behavior import ContentCharacteristics
from learnstream.contracts.envelope import IDENTIFIER, Envelope, Identifier, Payload
from learnstream.contracts.topics import Topic

ReactionType = Literal["like", "love", "favorite"]


class LikePayload(Payload):
    reaction_type: ReactionType = "like"
    content_characteristics: ContentCharacteristics


class _LikeToggled(Envelope):
    topic: ClassVar[Topic] = Topic.LIKES
    content_id: Identifier = IDENTIFIER


class ContentLiked(_LikeToggled):
    event_type: Literal["content.liked"] = "content.liked"
    payload: LikePayload


class ContentUnliked(_LikeToggled):
    event_type: Literal["content.unliked"] = "content.unliked"
    payload: LikePayload


LIKE_EVENTS: tuple[type[Envelope], ...] = (ContentLiked, ContentUnliked)
