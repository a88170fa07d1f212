"""Measures of generated samples."""
