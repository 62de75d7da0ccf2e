"""An agent's configuration for a model to read and change: the compact overview and pages
(view.py) and the change shown as old -> new before it is sent (changes.py). Pure: no I/O."""
