"""Device cookies of the sign-in limits: a browser a user signed in from is recognised, and its attempts for that
user count against that browser alone.

The sign-in limits (`accounts.MAX_FAILURES`) count failures per user name at a client address. Behind one office
address (NAT, a proxy, a shared terminal server) every clerk is that address, so a colleague typing five wrong
passwords for a clerk's name locked her out of the workspace at her own desk for 15 minutes, again and again. A
successful sign-in now leaves a signed cookie (`hedui_device`, path /login, 90 days) naming the users who signed
in from that browser; a sign-in of one of them carrying it is counted per device (`device:<id>:<name>`, 5 per
15 minutes) and is not held by the address's or the name's counters. A guesser without the cookie stays under
the address limits; one with the cookie has only his own browser's five tries. Nobody can make the cookie: it
is signed with the workspace's secret. A clerk at a new browser whose address is locked waits the window out,
or an admin of her region unlocks her (`/users`, `hedui users unlock`).
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

COOKIE = "hedui_device"
SECURE_COOKIE = "__Secure-hedui_device"  # over HTTPS: not settable by a plain-HTTP page of a sibling host
MAX_AGE = 90 * 86400     # as accounts.KNOWN_SECONDS: a browser not used to sign in for 90 days is a stranger again
MAX_NAMES = 8            # users remembered per browser (a shared desk)


class Devices:
    def __init__(self, secret: bytes, secure: bool):
        self.signer = URLSafeTimedSerializer(secret, salt="hedui-sign-in-device")
        self.secure = secure
        self.cookie = SECURE_COOKIE if secure else COOKIE

    def read(self, cookie: str | None) -> dict | None:
        if not cookie or len(cookie) > 2048:
            return None
        try:
            data = self.signer.loads(cookie, max_age=MAX_AGE)
        except (SignatureExpired, BadSignature):
            return None
        if (not isinstance(data, dict) or not isinstance(data.get("d"), str) or not isinstance(data.get("u"), list)
                or not all(isinstance(u, str) for u in data["u"])):
            return None
        return data

    def key_for(self, device: dict | None, username: str) -> str | None:
        """The failure key of a sign-in of `username` from this browser, when it knows the user; else None."""
        name = username.lower()
        return f"device:{device['d']}:{name}" if device and name in device["u"] else None

    def remember(self, response, device: dict | None, username: str, secure: bool = False) -> None:
        """After a successful sign-in: the browser's cookie names `username` too (its id kept: its count stays);
        `secure`: the sign-in came over HTTPS (hedui.web.security.secure), the cookie is sent over HTTPS only."""
        names = [u for u in (device or {}).get("u", []) if u != username.lower()] + [username.lower()]
        data = {"d": device["d"] if device else secrets.token_urlsafe(16), "u": names[-MAX_NAMES:]}
        response.set_cookie(self.cookie, self.signer.dumps(data), max_age=MAX_AGE, httponly=True, samesite="strict",
                            secure=self.secure or secure, path="/login")
