"""VOS core: the platform-independent engine (domain, personas, voice, speech, meetings, safety, storage)."""
