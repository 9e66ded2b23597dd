"""Transcripts: consent, recording with group commit, sealing at rest, reading, erasing,
retention and export. `setup.Transcripts` builds and plugs in the whole part."""
