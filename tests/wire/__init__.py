"""Loopback wire-protocol servers that tests point unmodified HTTP clients at.

Each binds 127.0.0.1 on a free port and serves from a background thread with its own event
loop, so sync and async tests can use it alike. Import the module you need:

* ``tests.wire.ollama``: ``OllamaWire``, Ollama's API over the embedded llama.cpp engine.
* ``tests.wire.faulty``: ``FaultyServer``, scripted faults (status codes, hangs, dropped
  streams, broken JSON) and the engines' real error bodies.

Nothing is imported here, so one server module's dependencies never burden another's tests.
"""

__all__: list[str] = []
