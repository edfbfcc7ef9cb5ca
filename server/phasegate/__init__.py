"""phasegate: a phased SDLC executor with progressive quality gates."""

__version__ = "0.1.0"
