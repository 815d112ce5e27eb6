"""Regenerate modelreg/_validators/ (fastjsonschema code) after editing a schema here.

    python schemas/regenerate.py
"""

from modelreg.schemas import write_generated

if __name__ == "__main__":
    for path in write_generated():
        print(f"wrote {path}")
