"""Google Translate's speech RPC on the wire: what to send, and the audio in the answer.

gTTS knows how to ask, so the request comes from it: the form body from its public
``gTTS.get_bodies()`` (``f.req=`` plus the ``jQ1olc`` RPC, built by ``_package_rpc``)
and the headers from ``gTTS.GOOGLE_TTS_HEADERS``. Sending is
:mod:`broadcaster.tts.gtts_engine`'s job, never gTTS's: ``gTTS.stream()`` turns
certificate checks off and silences urllib3's InsecureRequestWarning for the whole
process. Importing gTTS does neither; only calling ``stream()`` (or ``save()``,
``write_to_fp()``) does, and nothing here or in the engine calls them.

The answer is Google's "batchexecute" envelope: a ``)]}'`` line, then
length-prefixed JSON chunks, one of them ``[["wrb.fr","jQ1olc","[\\"<base64 MP3>\\"]",...]``.
gTTS cuts the base64 out with a regular expression; :func:`audio_from_answer`
parses that entry as JSON instead, and anything it cannot read is "no audio".
"""

from __future__ import annotations

import base64
import json
import re

from gtts import gTTS

RPC_ID = gTTS.GOOGLE_TTS_RPC  # "jQ1olc"
RPC_PATH = "_/TranslateWebserverUi/data/batchexecute"  # under https://translate.google.<tld>/
HEADERS: dict[str, str] = dict(gTTS.GOOGLE_TTS_HEADERS)
_ENTRY = re.compile(r'\[\s*"wrb\.fr"')  # the start of one RPC's result in the envelope


def request_body(text: str, *, tld: str, slow: bool) -> str | bytes | None:
    """The form body asking Google to speak ``text`` in Vietnamese; None if nothing to speak.

    ``text`` must be at most 100 characters, so that gTTS sends it in one request:
    a longer one raises ValueError rather than being cut where gTTS likes.
    """
    tts = gTTS(
        text,
        tld=tld,
        lang="vi",
        slow=slow,
        # Our text is already normalised Vietnamese: gTTS's English pre-processors
        # (abbreviations, spaces after "!") would only change it, and could push it
        # past 100 characters so that gTTS cuts it mid-phrase.
        pre_processor_funcs=[],
    )
    try:
        bodies = tts.get_bodies()
    except AssertionError:  # gTTS's way of saying that only punctuation is left
        return None
    if len(bodies) > 1:
        raise ValueError(f"gTTS would send this piece as {len(bodies)} requests")
    return bodies[0] if bodies else None


def audio_from_answer(answer: bytes) -> bytes | None:
    """The audio of the first ``jQ1olc`` result in ``answer``; None if there is none.

    Never raises: a body that is not UTF-8, not the envelope, holds ``null`` where
    the audio goes (Google's refusal) or broken base64 is just "no audio".
    """
    try:
        text = answer.decode("utf-8")
    except UnicodeDecodeError:
        return None
    decoder = json.JSONDecoder()
    for start in _ENTRY.finditer(text):
        try:
            entry, _ = decoder.raw_decode(text, start.start())
            if entry[1] != RPC_ID:
                continue
            payload = json.loads(entry[2])  # the result is JSON in a string: ["<base64>"]
            audio = base64.b64decode(payload[0])
        except (ValueError, TypeError, LookupError, RecursionError):
            return None  # ValueError covers bad JSON and bad base64 (binascii.Error)
        return audio or None
    return None


def looks_like_mp3(data: bytes) -> bool:
    """Starts with an MPEG audio frame header, after an optional ID3v2 tag."""
    if data[:3] == b"ID3" and len(data) >= 10:
        size = 0
        for byte in data[6:10]:  # "syncsafe": 7 bits per byte
            size = size << 7 | byte & 0x7F
        footer = 10 if data[5] & 0x10 else 0
        data = data[10 + size + footer :]
    if len(data) < 4 or data[0] != 0xFF or data[1] & 0xE0 != 0xE0:
        return False
    version, layer = data[1] >> 3 & 3, data[1] >> 1 & 3
    bitrate, rate = data[2] >> 4, data[2] >> 2 & 3
    return version != 1 and layer != 0 and bitrate != 15 and rate != 3
