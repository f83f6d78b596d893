"""The FRGlobals holding the project's configuration and views: the default one, or an
instance of its own (``settings.OWN_GLOBALS``) that the conftest names in ``fr_globals``."""

import restly as fr
import settings

APP_GLOBALS = fr.FRGlobals() if settings.OWN_GLOBALS else fr.get_fr_globals()
