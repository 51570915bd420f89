"""Tests of ripples_django: middleware, settings, checks, command, under real servers."""
