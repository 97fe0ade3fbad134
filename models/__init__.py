"""Tables (SQLModel) and domain enumerations. Imports nothing of the service above it."""

from models.account import Account, AuthSession, DatasetInfo
from models.audit import AuditLog
from models.data_version import DataVersion
from models.login_failure import LoginFailure
from models.mine import Guarantor, Mine
from models.reference import MineralType, Region
from models.registry_io import MineChangeRequest, MineImport
from models.tally import MineTally

__all__ = ["Account", "AuditLog", "DataVersion", "AuthSession", "DatasetInfo", "Guarantor", "LoginFailure", "Mine", "MineChangeRequest", "MineImport", "MineTally", "MineralType", "Region"]
