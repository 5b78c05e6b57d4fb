"""Vocabulary, entities and rules of land release; pure Python, no I/O."""
