"""Capture and replay of a whole training step (``gradgate.capture``).

``state`` is what the tensor and the engine consult (nothing else of gradgate is imported
by it); ``recorder`` watches one eager call and writes the tape; ``tape`` turns the tape
into one straight-line Python function over arrays; ``api`` is the user's ``capture``.
"""
