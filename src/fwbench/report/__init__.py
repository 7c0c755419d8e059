"""Generated material for the paper and the interactive report: numbers, tables, HTML, the PDF build.

Every number the paper prints is computed here from the database and written to
paper/build/generated/*.json, which the Typst source reads; the Typst source types no result.
"""
