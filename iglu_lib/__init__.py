"""iglu-workbench: human evaluations of IGLU builder agents on crowd platforms.

Importing the package stays cheap on purpose: heavy libraries (boto3, azure, pandas,
matplotlib, papermill) are imported inside the modules that need them, so that
`iglu --help` answers at once.
"""

__version__ = "0.1.0"
