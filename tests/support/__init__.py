"""Test helpers shared by the unit and end-to-end tests (imported as `tests.support.NAME`)."""
