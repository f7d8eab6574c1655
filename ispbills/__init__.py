"""ispbills: an open, self-hostable ISP management platform."""

__version__ = "0.1.0"
