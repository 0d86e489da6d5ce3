"""Submissions: reading a student's folder, ``.py`` or notebook as text (never importing it)."""
