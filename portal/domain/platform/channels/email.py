"""E-mail, through an SMTP server: to colleagues, at the address in their account (residents leave none).

Its own rules: a message keeps its subject line; it goes at any hour; an opt-out (a phone number's) does not
concern it. The server's certificate is verified, or nothing is sent.
"""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from portal.domain.platform.channels.channel import Channel, DeliveryError, Outgoing
from portal.domain.platform.channels.deadline import Deadline
from portal.models import MessageChannel, User


class _Smtp(smtplib.SMTP):
    """smtplib's client on a connection made under a deadline, in TLS from its first byte when given a context
    (SMTP over implicit TLS, port 465)."""

    deadline: Deadline

    def __init__(self, timeout: float, tls: ssl.SSLContext | None):
        self.tls = tls
        super().__init__(timeout=timeout)  # no host: it connects under its deadline, below

    def connect(self, host="localhost", port=0, source_address=None):
        # The name STARTTLS checks the certificate against; smtplib notes it only when given it at construction.
        self._host = host
        return super().connect(host, port, source_address)

    def _get_socket(self, host, port, timeout):  # smtplib's one place that opens the connection
        sock = self.deadline.connect(host, port, self.source_address)
        return self.tls.wrap_socket(sock, server_hostname=host) if self.tls else sock


class Email(Channel):
    """E-mail through an SMTP server: ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_FROM``, and where the server wants them
    ``SMTP_STARTTLS`` (upgrade the connection) or ``SMTP_SSL`` (TLS from the start), ``SMTP_USER`` and
    ``SMTP_PASSWORD``. The server's certificate is verified against the system's authorities and its name, or
    nothing is sent (a password must not go to whoever answers). The whole exchange takes at most
    ``SMS_GATEWAY_TIMEOUT`` seconds."""

    key = MessageChannel.EMAIL
    setting = "SMTP_HOST"
    key_suffix = ":mail"
    subjects = True

    @staticmethod
    def of_user(user: User) -> str | None:
        return user.email

    def send(self, message: Outgoing) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"] = self.config["SMTP_FROM"], message.address
        mail["Subject"] = message.subject or message.text[:40]
        mail["Message-ID"] = f"<{message.key.replace(':', '.')}@{self.config['SMTP_FROM'].rpartition('@')[2] or 'portal'}>"
        mail.set_content(message.text)
        tls = ssl.create_default_context()
        timeout = self.config["SMS_GATEWAY_TIMEOUT"]
        server = _Smtp(timeout, tls if self.config.get("SMTP_SSL") else None)  # asks this host's name first
        with Deadline(timeout) as deadline:
            server.deadline = deadline
            try:
                server.connect(self.config["SMTP_HOST"], self.config["SMTP_PORT"])
                if self.config.get("SMTP_STARTTLS") and not self.config.get("SMTP_SSL"):
                    server.starttls(context=tls)
                if self.config.get("SMTP_USER"):
                    server.login(self.config["SMTP_USER"], self.config["SMTP_PASSWORD"])
                server.send_message(mail)
            except (smtplib.SMTPException, OSError) as error:  # OSError: timeouts, refusals, TLS too
                raise DeliveryError(f"SMTP: {deadline.reason() if deadline.expired else error}") from error
            else:
                _quit(server)
            finally:
                server.close()


def _quit(server: smtplib.SMTP) -> None:
    """Say goodbye; the server took the message already, so a goodbye that fails changes nothing."""
    try:
        server.quit()
    except (smtplib.SMTPException, OSError):
        server.close()
