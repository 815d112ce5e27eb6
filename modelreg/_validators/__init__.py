"""Generated fast validators (see modelreg.schemas); do not edit."""
