"""The fake YouTube chat's kinds of message beyond plain text, for tests and the demo.

A mixin of FakeYouTubeAPI (youtube_api.py): each method builds one liveChatMessage in the
shape the Data API gives it and appends it through `add_item`, which the fake provides.
"""

from __future__ import annotations

from typing import Any

MODERATOR = ("UCmoderator000000000000", "Chat Moderator")


class ChatScript:
    def add_item(self, chat_id: str, kind: str, details: dict[str, Any], *, display: str | None,
                 channel: str, name: str, published_at: str | None = None,
                 message_id: str | None = None) -> str:
        raise NotImplementedError

    def superchat(self, chat_id: str, comment: str | None, *, amount: str = "$5.00",
                  channel: str = "UCfan", name: str = "Fan") -> str:
        details: dict[str, Any] = {"amountMicros": "5000000", "currency": "USD",
                                   "amountDisplayString": amount, "tier": 2}
        if comment is not None:
            details["userComment"] = comment
        return self.add_item(chat_id, "superChatEvent", {"superChatDetails": details},
                             display=f"{amount} from {name}: {comment or ''}", channel=channel,
                             name=name)

    def sticker(self, chat_id: str, comment: str | None = None, *, channel: str = "UCfan",
                name: str = "Fan") -> str:
        details: dict[str, Any] = {"amountMicros": "2000000", "currency": "USD",
                                   "amountDisplayString": "$2.00", "tier": 1,
                                   "superStickerMetadata": {"stickerId": "s1", "altText": "cat"}}
        if comment is not None:
            details["userComment"] = comment
        return self.add_item(chat_id, "superStickerEvent", {"superStickerDetails": details},
                             display="sticker", channel=channel, name=name)

    def milestone(self, chat_id: str, comment: str | None, *, channel: str = "UCmember",
                  name: str = "Member") -> str:
        details: dict[str, Any] = {"memberLevelName": "Supporter", "memberMonth": 12}
        if comment is not None:
            details["userComment"] = comment
        return self.add_item(chat_id, "memberMilestoneChatEvent",
                             {"memberMilestoneChatDetails": details}, display=comment or "",
                             channel=channel, name=name)

    def gift(self, chat_id: str, combo: int, *, message_id: str | None = None,
             channel: str = "UCfan", name: str = "Fan", screaming: bool = False) -> str:
        """A virtual gift; send it again with the same `message_id` as the combo grows."""
        return self.add_item(chat_id, "GIFT_EVENT" if screaming else "giftEvent",
                             {"giftDetails": {"giftName": "Rose", "jewelsAmount": 10,
                                              "comboCount": combo, "altText": "a rose"}},
                             display=f"sent a Rose x{combo}", channel=channel, name=name,
                             message_id=message_id)

    def delete(self, chat_id: str, message_id: str) -> str:
        """A chat moderator deleted `message_id` (the event's author is the moderator)."""
        return self.add_item(chat_id, "messageDeletedEvent",
                             {"messageDeletedDetails": {"deletedMessageId": message_id}},
                             display="A message was deleted", channel=MODERATOR[0],
                             name=MODERATOR[1])

    def retract(self, chat_id: str, message_id: str, *, channel: str = "UCviewer",
                name: str = "Viewer") -> str:
        return self.add_item(chat_id, "messageRetractedEvent",
                             {"messageRetractedDetails": {"retractedMessageId": message_id}},
                             display="A message was retracted", channel=channel, name=name)

    def ban(self, chat_id: str, channel: str, name: str = "Spammer", *,
            seconds: int | None = None) -> str:
        details: dict[str, Any] = {
            "banType": "temporary" if seconds else "permanent",
            "bannedUserDetails": {"channelId": channel, "displayName": name,
                                  "channelUrl": f"http://www.youtube.com/channel/{channel}"},
        }
        if seconds:
            details["banDurationSeconds"] = str(seconds)
        return self.add_item(chat_id, "userBannedEvent", {"userBannedDetails": details},
                             display=f"{name} was hidden", channel=MODERATOR[0],
                             name=MODERATOR[1])
