"""Entry point of the ``dispatch`` deployment: releases touches when their time comes."""

from nurture.orchestration.flows import dispatch

__all__ = ["dispatch"]

if __name__ == "__main__":
    dispatch()
