"""Service catalog (事项目录) and form engine.

- :mod:`forms.schema`  value types (ServiceItem, FieldDef, MaterialDef, TimeLimit) and file checks
- :mod:`forms.catalog` ``load_catalog`` / ``Catalog`` (get, search by code, name, pinyin, initials)
- :mod:`forms.engine`  ``validate_submission`` → ``Submission`` (every problem at once)

Item definitions are data: forms/catalog/*.toml, one file per item (see docs/catalog.md).
"""

from forms.catalog import Catalog, CatalogIssue, load_catalog
from forms.engine import Applicant, Submission, validate_submission
from forms.schema import FieldDef, MaterialDef, ServiceItem, TimeLimit

__all__ = ["Catalog", "CatalogIssue", "load_catalog", "Applicant", "Submission", "validate_submission",
           "FieldDef", "MaterialDef", "ServiceItem", "TimeLimit"]
