"""The station's terminal UI (Textual): one composition root (app.py), one module per screen."""
