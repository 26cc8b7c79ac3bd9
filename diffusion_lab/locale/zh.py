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

    # ---- exercises: the shared machinery (diffusion_lab/exercises/base.py) ----
    "your function raised {error_type}: {error}":
        "你的函数抛出了 {error_type}：{error}",
    "pass your function itself, without calling it: {example} (no brackets), not a {type_name}.":
        "请传入函数本身，不要调用它：{example}（不带括号），而不是一个 {type_name}。",
    "{what} should be a tensor (or numpy array) of numbers, got {type_name}.":
        "{what}应当是由数值构成的张量（或 numpy 数组），得到的却是 {type_name}。",
    "{what} should have shape {shape}, got {got}. {shape_fix}":
        "{what}的形状应为 {shape}，实际是 {got}。{shape_fix}",
    "{what} contains NaN or inf: look for a division by zero or the square root of a negative number.":
        "{what}中含有 NaN 或 inf：检查是否除以了零，或对负数开了平方根。",
    "{what} should be a number, got a bool ({value}).":
        "{what}应当是一个数，得到的却是布尔值（{value}）。",
    "{what} should be a single number, got the text {text}: remove the quotes.":
        "{what}应当是单个数，得到的却是文本 {text}：请去掉引号。",
    "{what} should be a number, got a bool tensor.":
        "{what}应当是一个数，得到的却是布尔张量。",
    "{what} should be a single number (a float), got {type_name} of shape {shape}.":
        "{what}应当是单个数（float），得到的却是形状为 {shape} 的 {type_name}。",
    "{what} should be a single number (a float), got {type_name}.":
        "{what}应当是单个数（float），得到的却是 {type_name}。",
    "{what}: return the step t as an int, not a bool.":
        "{what}：请把步数 t 作为 int 返回，而不是布尔值。",
    "{what}: return the step as an int, got {value} (a {type_name}); wrap it in int(...).":
        "{what}：请把步数作为 int 返回，得到的却是 {value}（{type_name} 类型）；用 int(...) 转换一下。",
    "{what}: return an int, got {type_name}.":
        "{what}：请返回 int，得到的却是 {type_name}。",
    "{what} should return True or False, got {type_name} {value}.":
        "{what}应当返回 True 或 False，得到的却是 {type_name} {value}。",
    "{prefix}: {hint}":
        "{prefix}：{hint}",
    "{name}: not attempted yet — write your answer in the cell above, run it, then run this check again. "
    "(.hint() helps.)":
        "{name}：还没有作答——在上面的单元格里写好答案并运行，再运行一次这个检查。（.hint() 可以给你提示。）",
    "{name}: not attempted yet — your function still returns nothing. Fill in the body, then check again.":
        "{name}：还没有作答——你的函数还什么都没有返回。补全函数体后再检查一次。",
    "{name}: not quite. {reason}":
        "{name}：还不太对。{reason}",
    "{name}: correct! ✓":
        "{name}：正确！✓",
    "{name} has {n} hints, there is no hint {level}. .hint({n}) is the strongest; .solution() shows a model "
    "answer.":
        "「{name}」共有 {n} 条提示，没有第 {level} 条。.hint({n}) 是说得最多的一条；.solution() 给出参考答案。",
    ".hint({next}) says more.":
        ".hint({next}) 会说得更多。",
    "Still stuck? .solution() shows a model answer.":
        "还是没有头绪？.solution() 给出参考答案。",
    "Hint {level} of {n} ({name}): {hint} — {more}":
        "提示 {level}/{n}（{name}）：{hint}——{more}",
    "hint levels are 1, 2, … {n}: .hint() for a nudge, .hint({n}) for the strongest; got {level}.":
        "提示的级别是 1, 2, … {n}：.hint() 点拨一下，.hint({n}) 说得最多；收到的却是 {level}。",
    "Solution ({name}):":
        "参考答案（{name}）：",
    "Exercise({name}): use .check(answer), .hint() … .hint({n}), .solution()":
        "Exercise({name})：用 .check(answer) 检查答案，.hint() … .hint({n}) 查看提示，.solution() 查看参考答案",

    # ---- exercises, chapter 0 (diffusion_lab/exercises/ch0.py) ----
    "Exercise 0.1 — where the noise overtakes the signal":
        "练习 0.1 —— 噪声在哪一步盖过信号",
    "your t":
        "你的 t",
    "{k} is one step early: it is the CODE index of the crossing (alphas_cumprod[{k}] < 0.5), or, in the papers' "
    "numbering, the last step where ᾱ_t is still at least one half. The slider shows the papers' t = 1..T, and "
    "alphas_cumprod[t − 1] is ᾱ_t.":
        "{k} 早了一步：它是越过 0.5 那一步的代码下标（alphas_cumprod[{k}] < 0.5），按论文的编号则是 ᾱ_t "
        "仍不小于一半的最后一步。滑块显示的是论文的 t = 1..T，而 alphas_cumprod[t − 1] 才是 ᾱ_t。",
    "That is where √ᾱ_t, the factor in front of x0, drops below one half (ᾱ_t < 1/4). The question is about the "
    "share of the variance, ᾱ_t itself: the blue bar's length.":
        "这是 √ᾱ_t（x0 前面的系数）降到一半以下的地方（ᾱ_t < 1/4）。题目问的是方差中信号所占的份额，"
        "也就是 ᾱ_t 本身：蓝色条的长度。",
    "That is where √ᾱ_t, the factor in front of x0, drops below one half, counted as a code index. The question "
    "is about ᾱ_t itself (the blue bar), in the papers' numbering.":
        "这是 √ᾱ_t（x0 前面的系数）降到一半以下的地方，而且是按代码下标数的。题目问的是 ᾱ_t 本身"
        "（蓝色条），并且要用论文的编号。",
    "the blue bar is still longer than the red one there":
        "在那一步蓝色条仍比红色条长",
    "the blue bar is already shorter than half before that step":
        "在那一步之前蓝色条就已经不到一半了",
    "t = {t} is not the first step with ᾱ_t < 0.5: {side}. Slide back and forth around it.":
        "t = {t} 不是第一个满足 ᾱ_t < 0.5 的步：{side}。在它附近来回拖动滑块看看。",
    "Move the slider until the blue bar (ᾱ_t) is just under half of the bar: the printed ᾱ_t goes below 0.5. "
    "Answer the t shown on the slider.":
        "拖动滑块，直到蓝色条（ᾱ_t）刚好不到整条的一半：打印出的 ᾱ_t 降到 0.5 以下。"
        "答案就是滑块上显示的 t。",
    "The slider's t is the papers' step; the code keeps ᾱ_t in schedule.alphas_cumprod[t − 1]. You can also find "
    "it in code: the first index k with alphas_cumprod[k] < 0.5, then t = k + 1.":
        "滑块上的 t 是论文中的步数；代码把 ᾱ_t 存在 schedule.alphas_cumprod[t − 1] 中。也可以用代码求："
        "先找第一个满足 alphas_cumprod[k] < 0.5 的下标 k，再取 t = k + 1。",
    "k = int(torch.nonzero(schedule.alphas_cumprod < 0.5)[0]); t_cross = k + 1.":
        "k = int(torch.nonzero(schedule.alphas_cumprod < 0.5)[0]); t_cross = k + 1。",
    "```python\nk = int(torch.nonzero(schedule.alphas_cumprod < 0.5)[0])   # code index of the crossing\n"
    "t_cross = k + 1                                              # the papers' step t\n```":
        "```python\nk = int(torch.nonzero(schedule.alphas_cumprod < 0.5)[0])   # 越过 0.5 那一步的代码下标\n"
        "t_cross = k + 1                                              # 论文编号中的步数 t\n```",
}
