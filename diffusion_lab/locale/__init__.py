"""Message catalogs of the course's languages other than English (see ``diffusion_lab.i18n``).

``zh.MESSAGES`` maps each English template the package prints or draws to its Chinese version;
``zh_code_strings.json`` pairs the Chinese chapters' code strings with the English chapters' ones
(written by ``scripts/i18n.py strings``).
"""
