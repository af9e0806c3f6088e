"""Domain knowledge both sides share, at the bottom of the layers: text normalisation and
sentence splitting, the industry lexicon and its mapping, the country gazetteer, and the
evidence check ("is this quote found in the story?"). The pipeline (``ingest``) uses it to
extract and score; the read side (retrieval, answers) uses it to understand queries and verify
answers. It imports nothing from either side, so one definition serves both (enforced by the
import-linter contracts in pyproject.toml)."""
