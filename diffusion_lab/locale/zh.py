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

    # ---- exercises, chapter 2 (diffusion_lab/exercises/ch2.py) ----
    "the mean":
        "均值",
    "the covariance":
        "协方差",
    "(schedule {name}, T = {T}, μ = {mu}, tol = {tol})":
        "（调度 {name}，T = {T}，μ = {mu}，tol = {tol}）",
    "{where}: expected t = {want} (there √ᾱ_t ‖μ‖ = {distance:.4f}), got t = {got}.":
        "{where}：应为 t = {want}（此时 √ᾱ_t ‖μ‖ = {distance:.4f}），你的答案是 t = {got}。",
    "return two things: (mean, cov), e.g. `return mean, cov`.":
        "要返回两个量：(mean, cov)，例如 `return mean, cov`。",
    "for μ = {mu}, ᾱ = {abar} the mean should be {want}, got {got}.":
        "当 μ = {mu}、ᾱ = {abar} 时，均值应为 {want}，你的结果是 {got}。",
    "for Σ = {sigma}, ᾱ = {abar} the covariance should be {want}, got {got}.":
        "当 Σ = {sigma}、ᾱ = {abar} 时，协方差应为 {want}，你的结果是 {got}。",
    "with {where} the mean never gets within {tol} of the origin: at the last step it is still {distance:.3f} away. "
    "Return schedule.T = {T} when no t qualifies.":
        "在 {where} 下，均值始终无法进入原点 {tol} 的范围内：到最后一步仍相距 {distance:.3f}。没有满足条件的 t 时，"
        "请返回 schedule.T = {T}。",
    "x_t does not match √ᾱ_t x0 + √(1−ᾱ_t) ε for t = {t}: expected {want}, got {got}.":
        "x_t 与 √ᾱ_t x0 + √(1−ᾱ_t) ε 不符（t = {t}）：应为 {want}，你的结果是 {got}。",
    "shapes do not broadcast ({error}). schedule.alphas_cumprod[t] has shape ({n},) but x0 is ({n}, 2): give ᾱ one "
    "value per ROW with [:, None] (shape ({n}, 1)).":
        "形状无法广播（{error}）。schedule.alphas_cumprod[t] 的形状是 ({n},)，而 x0 是 ({n}, 2)：用 [:, None] 让 ᾱ "
        "每一行（每个点）取一个值（形状 ({n}, 1)）。",
    "Exercise 2.1 — moments of x_t":
        "练习 2.1 —— x_t 的均值与协方差",
    "Write x_t = √ᾱ x0 + √(1−ᾱ) ε with x0 and ε independent. The mean is linear, so start there; then work out the "
    "covariance of each of the two parts.":
        "写出 x_t = √ᾱ x0 + √(1−ᾱ) ε，其中 x0 与 ε 相互独立。均值是线性的，先从它入手；"
        "再分别算出两部分各自的协方差。",
    "E[x_t] = √ᾱ·E[x0]. Covariances of independent parts add, and Cov[a·x] = a²·Cov[x]. ε has covariance I, the "
    "identity matrix (torch.eye(2)), not a matrix of ones.":
        "E[x_t] = √ᾱ·E[x0]。独立部分的协方差相加，且 Cov[a·x] = a²·Cov[x]。ε 的协方差是单位矩阵 I（torch.eye(2)），"
        "不是全 1 矩阵。",
    "mean = math.sqrt(abar) * mu; cov = abar * Sigma + (1 - abar) * torch.eye(2, dtype=Sigma.dtype); return mean, "
    "cov.":
        "mean = math.sqrt(abar) * mu; cov = abar * Sigma + (1 - abar) * torch.eye(2, dtype=Sigma.dtype); return "
        "mean, cov。",
    "the mean is scaled by ᾱ_t, but x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε: the mean is scaled by √ᾱ_t (the signal's "
    "coefficient), not ᾱ_t.":
        "均值被乘上了 ᾱ_t，但 x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε：均值应乘以 √ᾱ_t（信号的系数），而不是 ᾱ_t。",
    "the mean is still μ: noising shrinks the signal, E[x_t] = √ᾱ_t μ.":
        "均值仍然是 μ：加噪会让信号收缩，E[x_t] = √ᾱ_t μ。",
    "the covariance is missing the noise: ε adds its own variance, Cov[x_t] = ᾱ_t Σ + (1−ᾱ_t) I. Without the "
    "(1−ᾱ_t) I term the cloud would shrink to a point instead of becoming N(0, I).":
        "协方差漏掉了噪声：ε 会带来它自己的方差，Cov[x_t] = ᾱ_t Σ + (1−ᾱ_t) I。没有 (1−ᾱ_t) I 这一项，"
        "点云会缩成一个点，而不是变成 N(0, I)。",
    "(1−ᾱ_t) was added to EVERY entry of Σ (a number plus a matrix broadcasts). The noise is independent per "
    "coordinate: add (1−ᾱ_t) times the identity matrix, torch.eye(2), so only the diagonal grows.":
        "(1−ᾱ_t) 被加到了 Σ 的每一个元素上（数加矩阵会广播）。噪声在各坐标上相互独立：应加上 (1−ᾱ_t) 乘单位矩阵 "
        "torch.eye(2)，只让对角线变大。",
    "Σ is scaled by √ᾱ_t, but scaling a variable by a scales its covariance by a²: the signal part is (√ᾱ_t)² Σ = "
    "ᾱ_t Σ.":
        "Σ 被乘上了 √ᾱ_t，但变量乘以 a 时协方差要乘以 a²：信号部分是 (√ᾱ_t)² Σ = ᾱ_t Σ。",
    "the noise term uses √(1−ᾱ_t): that is the noise's standard deviation. Covariance adds variances, (1−ᾱ_t) I.":
        "噪声项用了 √(1−ᾱ_t)：那是噪声的标准差。协方差相加的是方差，应为 (1−ᾱ_t) I。",
    "Σ should shrink as well: the signal part of the covariance is ᾱ_t Σ.":
        "Σ 也应当收缩：协方差中的信号部分是 ᾱ_t Σ。",
    "Exercise 2.2 — when is the mean at the origin?":
        "练习 2.2 —— 均值何时到达原点？",
    "The cloud's mean at step t is √ᾱ_t μ, so its distance to the origin is √ᾱ_t ‖μ‖: one number per t, falling as "
    "t grows. You want the first t where it is below tol.":
        "第 t 步点云的均值是 √ᾱ_t μ，它到原点的距离是 √ᾱ_t ‖μ‖：每个 t 对应一个数，随 t 增大而减小。"
        "你要找的是它第一次小于 tol 的 t。",
    "schedule.sqrt_alphas_cumprod holds all T values of √ᾱ_t and torch.linalg.vector_norm(mu) is ‖μ‖. "
    "torch.nonzero(cond) lists the indices where cond holds; when it is empty, return schedule.T.":
        "schedule.sqrt_alphas_cumprod 存有全部 T 个 √ᾱ_t，torch.linalg.vector_norm(mu) 就是 ‖μ‖。"
        "torch.nonzero(cond) 列出 cond 成立的下标；它为空时返回 schedule.T。",
    "below = torch.nonzero(schedule.sqrt_alphas_cumprod * torch.linalg.vector_norm(mu.double()) < tol); return "
    "int(below[0]) if below.numel() else schedule.T.":
        "below = torch.nonzero(schedule.sqrt_alphas_cumprod * torch.linalg.vector_norm(mu.double()) < tol); return "
        "int(below[0]) if below.numel() else schedule.T。",
    "you used ᾱ_t; the mean of x_t is √ᾱ_t μ, so compare √ᾱ_t ‖μ‖ with tol.":
        "你用的是 ᾱ_t；x_t 的均值是 √ᾱ_t μ，所以应比较 √ᾱ_t ‖μ‖ 与 tol。",
    "'within tol of the origin' means the Euclidean distance ‖√ᾱ_t μ‖ < tol, not each coordinate separately (use "
    "torch.linalg.vector_norm).":
        "“距原点 tol 以内”指的是欧氏距离 ‖√ᾱ_t μ‖ < tol，而不是每个坐标分别小于 tol（用 torch.linalg.vector_norm）。",
    "off by one — code steps start at t = 0 (the papers' 1), so return the index itself, not index + 1.":
        "差了一步——代码中的步数从 t = 0 开始（对应论文的 1），所以直接返回下标本身，不要加 1。",
    "off by one — that is the last step still farther than tol; return the first step that is within it.":
        "差了一步——那是距离仍大于 tol 的最后一步；要返回第一个进入 tol 范围的步。",
    "Exercise 2.3 — noising a batch, one t per point":
        "练习 2.3 —— 给一批点加噪，每个点各有自己的 t",
    "Each point i has its own ᾱ = schedule.alphas_cumprod[t[i]]: one value per ROW of x0. The formula is the usual "
    "x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε; the work is in the shapes.":
        "每个点 i 有自己的 ᾱ = schedule.alphas_cumprod[t[i]]：x0 的每一行一个值。公式还是熟悉的 x_t = √ᾱ_t x0 + "
        "√(1−ᾱ_t) ε，难点在形状上。",
    "schedule.alphas_cumprod[t] has shape (n,) and x0 has shape (n, 2). Broadcasting lines shapes up from the "
    "right, so (n,) would meet the 2 coordinates; make it a column of shape (n, 1) with [:, None].":
        "schedule.alphas_cumprod[t] 的形状是 (n,)，x0 的形状是 (n, 2)。广播从右边对齐形状，于是 (n,) 会对上那 2 "
        "个坐标；用 [:, None] 把它变成形状为 (n, 1) 的列。",
    "abar = schedule.alphas_cumprod[t][:, None]; return abar.sqrt() * x0 + (1 - abar).sqrt() * eps.":
        "abar = schedule.alphas_cumprod[t][:, None]; return abar.sqrt() * x0 + (1 - abar).sqrt() * eps。",
    "your ᾱ of shape (n,) was broadcast along the COLUMNS (coordinates): with 2 points, point 0's x₂ used point 1's "
    "ᾱ. Reshape to (n, 1) with [:, None] so each row (point) gets its own ᾱ_t.":
        "形状为 (n,) 的 ᾱ 沿着列（坐标）广播了：有 2 个点时，点 0 的 x₂ 用的是点 1 的 ᾱ。用 [:, None] 变形为 (n, "
        "1)，让每一行（每个点）得到自己的 ᾱ_t。",
    "x0 is multiplied by ᾱ_t; the signal coefficient is √ᾱ_t (a widely copied template has this bug). Variance ᾱ_t "
    "means standard deviation √ᾱ_t.":
        "x0 乘上了 ᾱ_t；信号的系数是 √ᾱ_t（一份流传很广的模板就有这个错误）。方差为 ᾱ_t 意味着标准差为 √ᾱ_t。",
    "ε is multiplied by (1−ᾱ_t); its coefficient is √(1−ᾱ_t), the noise's standard deviation.":
        "ε 乘上了 (1−ᾱ_t)；它的系数是噪声的标准差 √(1−ᾱ_t)。",
    "you used ᾱ at t − 1. In code, step t (0..T−1) uses schedule.alphas_cumprod[t] directly: the papers' 1..T is "
    "already shifted.":
        "你用了 t − 1 处的 ᾱ。代码中第 t 步（0..T−1）直接使用 schedule.alphas_cumprod[t]：论文的 1..T 已经平移过了。",
    "every point got the same noise: use the whole eps tensor, one ε row per point.":
        "所有点用了同一份噪声：应使用整个 eps 张量，每个点一行 ε。",

    # ---- exercises, chapter 3 (diffusion_lab/exercises/ch3.py) ----
    "the coefficient of x0 in x_T":
        "x_T 中 x0 的系数",
    "linear, T = 50 (ᾱ never below 0.5)":
        "linear，T = 50（ᾱ 始终不低于 0.5）",
    "{value:.4f} is ᾱ_(T−1), the share of x_T's VARIANCE that comes from x0 (for unit-variance data). x_T = √ᾱ·x0 + "
    "√(1−ᾱ)·ε: the coefficient of x0 is the square root.":
        "{value:.4f} 是 ᾱ_(T−1)，即 x_T 的方差中来自 x0 的份额（对单位方差的数据而言）。x_T = √ᾱ·x0 + √(1−ᾱ)·ε：x0 "
        "的系数是它的平方根。",
    "for T = {T}, s = {s} the first wrong value is at t = {bad}: expected ᾱ = {want:.6g}, got {got:.6g}. Compare "
    "with the formula in the text.":
        "当 T = {T}、s = {s} 时，第一个错误的值在 t = {bad}：ᾱ 应为 {want:.6g}，你的结果是 {got:.6g}。"
        "请对照正文中的公式。",
    "{where}: you returned {value}. Return the step t where ᾱ first drops below 0.5 (an integer index), not the "
    "value of ᾱ there.":
        "{where}：你返回的是 {value}。要返回 ᾱ 第一次降到 0.5 以下的步数 t（一个整数下标），而不是那里的 ᾱ 值。",
    "β = 0.6 at the first step":
        "第一步 β = 0.6",
    "{label}: expected t = {expected}, got {got}. Look for the first index where alphas_cumprod < 0.5.":
        "{label}：应为 t = {expected}，你的结果是 {got}。找出第一个满足 alphas_cumprod < 0.5 的下标。",
    "for a schedule whose ᾱ never drops below 0.5 (linear, T = 50) your function returned None. Return T = "
    "len(alphas_cumprod) then, as schedule.t_half() does.":
        "对于 ᾱ 从不降到 0.5 以下的调度（linear，T = 50），你的函数返回了 None。这种情况下应返回 T = "
        "len(alphas_cumprod)，和 schedule.t_half() 一样。",
    " (argmax of an all-False mask is 0 — check whether any value is below 0.5 first)":
        "（全为 False 的掩码，其 argmax 是 0——先检查是否有值低于 0.5）",
    "for linear T = 50, ᾱ never drops below 0.5 (ᾱ_49 ≈ 0.603), so the answer is T = 50; you returned {got}{hint}.":
        "对于 linear、T = 50，ᾱ 从不降到 0.5 以下（ᾱ_49 ≈ 0.603），所以答案是 T = 50；你返回的是 {got}{hint}。",
    "expected √ᾱ at the last step of the T = 200 linear schedule, within {accuracy}; got {value:.4f}.":
        "应为 T = 200 的线性调度最后一步的 √ᾱ，误差在 {accuracy} 以内；你的结果是 {value:.4f}。",
    "for T = {T} you returned T + 1 = {n} values. The first one, f(0)/f(0) = 1, is 'before any noise'; code t = 0 "
    "is already after the first step. Return ᾱ for t = 0..T−1 only (shape (T,)).":
        "当 T = {T} 时你返回了 T + 1 = {n} 个值。第一个值 f(0)/f(0) = 1 表示“加噪之前”；而代码中的 t = 0 "
        "已经是第一步之后了。只返回 t = 0..T−1 的 ᾱ（形状 (T,)）。",
    "for T = {T} expected a 1D tensor of shape ({T},), got shape {shape}.":
        "当 T = {T} 时应返回形状为 ({T},) 的一维张量，你的结果形状是 {shape}。",
    "your ᾱ contains NaN or inf: check for a division by f(T) ≈ 0 or a log of 0.":
        "你的 ᾱ 中含有 NaN 或 inf：检查是否除以了 f(T) ≈ 0，或对 0 取了对数。",
    "for s = {s} expected {want:.5f} (the log-SNR of the package's cosine schedule at t = T/2), got {got:.5f}. "
    "Write ᾱ_{{T/2}} = f(1/2)/f(0) first, then log(ᾱ/(1 − ᾱ)).":
        "当 s = {s} 时应为 {want:.5f}（本课程程序包中余弦调度在 t = T/2 处的对数信噪比），你的结果是 {got:.5f}。"
        "先写出 ᾱ_{{T/2}} = f(1/2)/f(0)，再算 log(ᾱ/(1 − ᾱ))。",
    "{label}: you returned t = {got}":
        "{label}：你返回的是 t = {got}",
    "for a schedule whose ᾱ never drops below 0.5 (linear, T = 50): {error}. Return T = len(alphas_cumprod) when no "
    "step is below 0.5.":
        "对于 ᾱ 从不降到 0.5 以下的调度（linear，T = 50）：{error}。没有任何一步低于 0.5 时，返回 T = "
        "len(alphas_cumprod)。",
    "Exercise 3.1 — the cosine schedule's ᾱ_t":
        "练习 3.1 —— 余弦调度的 ᾱ_t",
    "Section 1's recipe: a curve f(τ) = cos²(((τ + s)/(1 + s))·π/2) on τ = t/T, normalised so that ᾱ = 1 at τ = 0. "
    "Code step t = 0 is already after the first step, at τ = 1/T.":
        "第 1 节的做法：在 τ = t/T 上取曲线 f(τ) = cos²(((τ + s)/(1 + s))·π/2)，并归一化使 τ = 0 时 ᾱ = 1。"
        "代码中的第 t = 0 步已经在第一步之后，对应 τ = 1/T。",
    "Make τ = torch.arange(T + 1, dtype=torch.float64) / T (T + 1 points), f as above and ᾱ(τ) = f/f[0]. Turn it "
    "into T values β_t = 1 − ᾱ(τ_{t+1})/ᾱ(τ_t), clip them at max_beta (the last one would be 1), and multiply the "
    "factors 1 − β_t back up.":
        "令 τ = torch.arange(T + 1, dtype=torch.float64) / T（T + 1 个点），f 如上，ᾱ(τ) = f/f[0]。再把它变成 T 个 "
        "β_t = 1 − ᾱ(τ_{t+1})/ᾱ(τ_t)，在 max_beta 处截断（最后一个本来会是 1），然后把各因子 1 − β_t 重新连乘起来。",
    "abar = f / f[0]; betas = (1 - abar[1:] / abar[:-1]).clamp(max=max_beta); return torch.cumprod(1 - betas, "
    "dim=0).":
        "abar = f / f[0]; betas = (1 - abar[1:] / abar[:-1]).clamp(max=max_beta); return torch.cumprod(1 - betas, "
        "dim=0)。",
    "your first value is exactly 1: that is ᾱ before any step. In code, t = 0 is the papers' t = 1, so ᾱ_0 = "
    "f(1/T)/f(0) — start τ at 1/T (take f[1:], not f[:-1]).":
        "你的第一个值恰好是 1：那是任何一步之前的 ᾱ。代码中的 t = 0 是论文的 t = 1，所以 ᾱ_0 = f(1/T)/f(0)——τ 要从 "
        "1/T 开始（取 f[1:]，而不是 f[:-1]）。",
    "your curve is the cosine schedule WITHOUT the offset s. Use cos²(((t/T + s)/(1 + s))·π/2): the small s keeps β "
    "near t = 0 from being vanishingly small (≈ 2.5e-6 without it), so the first steps still add some noise.":
        "你的曲线是不带偏移量 s 的余弦调度。请用 cos²(((t/T + s)/(1 + s))·π/2)：小小的 s 让 t = 0 附近的 β "
        "不至于小到几乎为零（没有它约为 2.5e-6），这样最初几步仍会加入一些噪声。",
    "called with s = 0.02 your function still used s = 0.008: use the argument s, not a hard-coded number.":
        "用 s = 0.02 调用时，你的函数仍然用了 s = 0.008：请使用参数 s，不要把数字写死。",
    "your values are all f(0) times too small (f(0) = cos²(s/(1 + s)·π/2) ≈ 0.9998): divide by f(0) so that ᾱ "
    "starts from 1 at τ = 0 (ᾱ(τ) = f(τ)/f(0)).":
        "你的所有值都小了 f(0) 倍（f(0) = cos²(s/(1 + s)·π/2) ≈ 0.9998）：要除以 f(0)，让 ᾱ 在 τ = 0 时从 1 "
        "开始（ᾱ(τ) = f(τ)/f(0)）。",
    "all but the last value are right, but your last ᾱ is (nearly) 0. At τ = 1 the curve reaches f = 0, so the last "
    "β would be 1 (all signal destroyed in one step, and 1/√ᾱ blows up). Clip every β at max_beta (0.999): compute "
    "β_t = 1 − ᾱ_t/ᾱ_{t−1}, clamp, then take the cumulative product.":
        "除最后一个值外都对，但你的最后一个 ᾱ（几乎）是 0。在 τ = 1 处曲线到达 f = 0，于是最后一个 β 会等于 "
        "1（一步就毁掉全部信号，1/√ᾱ 也会发散）。把每个 β 截断在 max_beta（0.999）：先算 β_t = 1 − ᾱ_t/ᾱ_{t−1}，"
        "截断，再求累积乘积。",
    "very close, but not to float64 precision: build τ and f with dtype=torch.float64 (schedules are computed in "
    "float64 in this course).":
        "已经非常接近，但没有达到 float64 精度：用 dtype=torch.float64 构造 τ 和 f（本课程的调度都用 float64 计算）"
        "。",
    "Exercise 3.2 — derive the cosine schedule's log-SNR at t = T/2":
        "练习 3.2 —— 推导余弦调度在 t = T/2 处的对数信噪比",
    "At t = T/2 the cosine recipe has τ = t/T = 1/2, whatever T is. Start with s = 0: what is cos²(π/4)?":
        "在 t = T/2 处，无论 T 取多少，余弦调度的 τ = t/T = 1/2。先从 s = 0 开始：cos²(π/4) 等于多少？",
    "ᾱ_{T/2} = f(1/2)/f(0) with f(τ) = cos²((τ + s)/(1 + s)·π/2); then log-SNR = log(ᾱ/(1 − ᾱ)), natural log. For s "
    "= 0 you should get exactly 0; for s = 0.008 about −0.025.":
        "ᾱ_{T/2} = f(1/2)/f(0)，其中 f(τ) = cos²((τ + s)/(1 + s)·π/2)；于是对数信噪比 = log(ᾱ/(1 − ᾱ))，取自然对数。"
        "s = 0 时应恰好得到 0；s = 0.008 时约为 −0.025。",
    "f = lambda tau: math.cos((tau + s) / (1 + s) * math.pi / 2) ** 2; abar = f(0.5) / f(0); return math.log(abar / "
    "(1 - abar)).":
        "f = lambda tau: math.cos((tau + s) / (1 + s) * math.pi / 2) ** 2; abar = f(0.5) / f(0); return "
        "math.log(abar / (1 - abar))。",
    "0 is right only for s = 0, where ᾱ_{T/2} = cos²(π/4) = 1/2. With an offset the angle is (1/2 + s)/(1 + s)·π/2, "
    "a little past π/4, so ᾱ_{T/2} < 1/2 and the log-SNR is negative.":
        "0 只在 s = 0 时正确，那时 ᾱ_{T/2} = cos²(π/4) = 1/2。有偏移量时角度是 (1/2 + s)/(1 + s)·π/2，比 π/4 略大，"
        "所以 ᾱ_{T/2} < 1/2，对数信噪比为负。",
    "you left out the division by f(0): ᾱ(τ) = f(τ)/f(0), so that ᾱ_0 = 1. f(0) = cos²(s/(1+s)·π/2) is just below 1 "
    "for s > 0.":
        "你漏掉了除以 f(0)：ᾱ(τ) = f(τ)/f(0)，这样才有 ᾱ_0 = 1。s > 0 时 f(0) = cos²(s/(1+s)·π/2) 略小于 1。",
    "that is one step late, t = T/2 + 1 (τ = 0.501 for T = 1000): in code, t = T/2 is index T/2 − 1, i.e. "
    "log_snr[499], not log_snr[500].":
        "这晚了一步，是 t = T/2 + 1（T = 1000 时 τ = 0.501）：代码中 t = T/2 的下标是 T/2 − 1，即 log_snr[499]，"
        "而不是 log_snr[500]。",
    "that is log ᾱ, the signal's log-variance only. The SNR divides by the noise's variance: log(ᾱ/(1 − ᾱ)).":
        "那是 log ᾱ，只是信号的对数方差。信噪比还要除以噪声的方差：log(ᾱ/(1 − ᾱ))。",
    "that is the SNR ᾱ/(1 − ᾱ) itself; the question asks for its natural logarithm.":
        "那是信噪比 ᾱ/(1 − ᾱ) 本身；题目要的是它的自然对数。",
    "that is log base 10; the log-SNR uses the natural log (math.log / torch.log).":
        "那是以 10 为底的对数；对数信噪比用自然对数（math.log / torch.log）。",
    "that is log(√ᾱ/√(1 − ᾱ)), the ratio of the scales. The SNR is the ratio of the variances, ᾱ/(1 − ᾱ): no square "
    "roots.":
        "那是 log(√ᾱ/√(1 − ᾱ))，即尺度之比。信噪比是方差之比 ᾱ/(1 − ᾱ)：不开平方。",
    "Exercise 3.3 — where does ᾱ cross 0.5?":
        "练习 3.3 —— ᾱ 在哪一步越过 0.5？",
    "(alphas_cumprod < 0.5) is a boolean mask, True where ᾱ_t is below one half. You want the position of its first "
    "True — and an answer for when there is none.":
        "(alphas_cumprod < 0.5) 是一个布尔掩码，在 ᾱ_t 低于一半的地方为 True。你要找它第一个 True "
        "的位置——还要考虑一个 True 都没有的情况。",
    "torch.nonzero(mask) lists the indices where the mask is True, in order. When that list is empty, return T = "
    "len(alphas_cumprod), like schedule.t_half(). (Beware: argmax of an all-False mask is 0.)":
        "torch.nonzero(mask) 按顺序列出掩码为 True 的下标。列表为空时，返回 T = len(alphas_cumprod)，和 "
        "schedule.t_half() 一样。（注意：全为 False 的掩码，其 argmax 是 0。）",
    "below = torch.nonzero(alphas_cumprod < 0.5); return int(below[0]) if below.numel() else len(alphas_cumprod).":
        "below = torch.nonzero(alphas_cumprod < 0.5); return int(below[0]) if below.numel() else "
        "len(alphas_cumprod)。",
    "one step too early: there ᾱ is still ≥ 0.5. We want the FIRST t with ᾱ_t < 0.5, one step later.":
        "早了一步：那里 ᾱ 仍然 ≥ 0.5。我们要的是第一个满足 ᾱ_t < 0.5 的 t，再往后一步。",
    "one step too late — that is the papers' numbering. In code t starts at 0, so return the index itself (no + 1).":
        "晚了一步——那是论文的编号。代码中 t 从 0 开始，所以直接返回下标本身（不要 + 1）。",
    "Exercise 3.4 — how much of x0 survives to x_T with T = 200?":
        "练习 3.4 —— T = 200 时，x0 有多少留到了 x_T？",
    "x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε, so the factor in front of x0 at the last code step t = T−1 is what you want: a "
    "standard deviation, not a variance.":
        "x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε，所以你要的是最后一个代码步 t = T−1 处 x0 前面的系数：它是标准差，不是方差。",
    "Build the schedule with dl.make_schedule('linear', T=200) (it warns — that is the point) and read √ᾱ at the "
    "last code step, t = T−1 = 199 (index −1).":
        "用 dl.make_schedule('linear', T=200) 构造调度（它会发出警告——这正是要点），然后读出最后一个代码步 t = T−1 "
        "= 199（下标 −1）处的 √ᾱ。",
    "scale_left_mine = float(dl.make_schedule('linear', T=200).sqrt_alphas_cumprod[-1]).":
        "scale_left_mine = float(dl.make_schedule('linear', T=200).sqrt_alphas_cumprod[-1])。",
    "that is the noise part, √(1−ᾱ) or 1−ᾱ. The question asks for the coefficient of x0: √ᾱ at the last step.":
        "那是噪声部分，√(1−ᾱ) 或 1−ᾱ。题目问的是 x0 的系数：最后一步的 √ᾱ。",
    "that is one step before the end. With T = 200 the last code step is t = 199 (index −1), not 198.":
        "那是倒数第二步。T = 200 时最后一个代码步是 t = 199（下标 −1），而不是 198。",
    "that is the T = 1000 value. Build the schedule with T = 200: dl.make_schedule('linear', T=200).":
        "那是 T = 1000 时的值。请用 T = 200 构造调度：dl.make_schedule('linear', T=200)。",
    "```python\nshort = dl.make_schedule('linear', T=200)      # ScheduleWarning: x_T still holds "
    "signal\nscale_left = float(short.sqrt_alphas_cumprod[-1])   # ≈ 0.364: x_T still has 36 % of x0's scale\n```":
        "```python\nshort = dl.make_schedule('linear', T=200)      # ScheduleWarning：x_T 中仍留有信号\nscale_left "
        "= float(short.sqrt_alphas_cumprod[-1])   # ≈ 0.364：x_T 仍保留 x0 尺度的 36 %\n```",
}
