"""Frames in and out: typed client frames, server frame encoding, text checks. No I/O."""
