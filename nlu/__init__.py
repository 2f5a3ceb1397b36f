"""Japanese NLU for madoguchi: normalization, tokenization, intents and entities."""
