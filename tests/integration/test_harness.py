"""The harness itself: loopback only."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import NetworkAccessError


def test_resolving_a_public_name_fails_loudly() -> None:
    with pytest.raises(NetworkAccessError):
        socket.getaddrinfo("fcm.googleapis.com", 443)


def test_connecting_to_a_public_address_fails_loudly() -> None:
    with pytest.raises(NetworkAccessError), socket.socket() as s:
        s.connect(("8.8.8.8", 53))


def test_loopback_is_allowed() -> None:
    assert socket.getaddrinfo("127.0.0.1", 80)
    assert socket.getaddrinfo("localhost", 80)
