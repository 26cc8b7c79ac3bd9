"""中文 message catalog: English template → Chinese template (same ``{fields}``).

Keys are the exact English text the package passes to ``i18n.tr`` / ``i18n.tr_fig`` (or shows as an
exercise's name, hint, mistake or solution text). tests/test_i18n.py checks that every template the
package uses is here, with the same fields. Terms follow docs/glossary.md.
"""

MESSAGES: dict[str, str] = {
    # ---- claims (diffusion_lab/claims.py) ----
    "{what}: {value}, as expected {expected} (± {tol}: {why})":
        "{what}：{value}，与预期的 {expected} 相符（± {tol}：{why}）",
    "{what}: {value} vs {expected} within sampling error (n = {n})":
        "{what}：{value} 对 {expected}，在抽样误差之内（n = {n}）",
    "{what} (Kolmogorov–Smirnov distance {distance}, n = {n}, p = {p})":
        "{what}（Kolmogorov–Smirnov 距离 {distance}，n = {n}，p = {p}）",
}
