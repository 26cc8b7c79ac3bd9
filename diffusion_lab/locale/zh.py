"""中文 message catalog: English template → Chinese template (same ``{fields}``).

Keys are the exact English text the package passes to ``i18n.tr`` / ``i18n.tr_fig`` (or shows as an
exercise's name, hint, mistake or solution text). tests/test_i18n.py checks that every template the
package uses is here, with the same fields. Terms follow notebooks/glossary.md.
"""

MESSAGES: dict[str, str] = {
    # ---- claims (diffusion_lab/claims.py) ----
    "{what}: {value}, as expected {expected} (± {tol}: {why})":
        "{what}：{value}，与预期的 {expected} 相符（± {tol}：{why}）",
    "{what}: {value} vs {expected} within sampling error (n = {n})":
        "{what}：{value} 对 {expected}，在抽样误差之内（n = {n}）",
    "{what} (Kolmogorov–Smirnov distance {distance}, n = {n}, p = {p})":
        "{what}（Kolmogorov–Smirnov 距离 {distance}，n = {n}，p = {p}）",
    "{what}: {value} < {bound}": "{what}：{value} < {bound}",
    "{what}: {value} > {bound}": "{what}：{value} > {bound}",
    "; {why}": "；{why}",
    "{what} ({detail})": "{what}（{detail}）",

    # ---- exercises: the shared machinery (diffusion_lab/exercises/base.py) ----
    "your function raised {error_type}: {error}":
        "你的函数抛出了 {error_type}：{error}",
    "pass your function itself, without calling it: {example} (no brackets), not a {type_name}.":
        "请传入函数本身，不要调用它：{example}（不带括号），而不是一个 {type_name}。",
    "{what} should be a tensor (or numpy array) of numbers, got {type_name}.":
        "{what} 应当是由数值构成的张量（或 numpy 数组），得到的却是 {type_name}。",
    "{what} should have shape {shape}, got {got}. {shape_fix}":
        "{what} 的形状应为 {shape}，实际是 {got}。{shape_fix}",
    "{what} contains NaN or inf: look for a division by zero or the square root of a negative number.":
        "{what} 中含有 NaN 或 inf：检查是否除以了零，或对负数开了平方根。",
    "{what} should be a number, got a bool ({value}).":
        "{what} 应当是一个数，得到的却是布尔值（{value}）。",
    "{what} should be a single number, got the text {text}: remove the quotes.":
        "{what} 应当是单个数，得到的却是文本 {text}：请去掉引号。",
    "{what} should be a number, got a bool tensor.":
        "{what} 应当是一个数，得到的却是布尔张量。",
    "{what} should be a single number (a float), got {type_name} of shape {shape}.":
        "{what} 应当是单个数（float），得到的却是形状为 {shape} 的 {type_name}。",
    "{what} should be a single number (a float), got {type_name}.":
        "{what} 应当是单个数（float），得到的却是 {type_name}。",
    "{what}: return the step t as an int, not a bool.":
        "{what}：请把步数 t 作为 int 返回，而不是布尔值。",
    "{what}: return the step as an int, got {value} (a {type_name}); wrap it in int(...).":
        "{what}：请把步数作为 int 返回，得到的却是 {value}（{type_name} 类型）；用 int(...) 转换一下。",
    "{what}: return an int, got {type_name}.":
        "{what}：请返回 int，得到的却是 {type_name}。",
    "{what} should return True or False, got {type_name} {value}.":
        "{what} 应当返回 True 或 False，得到的却是 {type_name} {value}。",
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
        "{k} 早了一步：它是越过 0.5 那一步的代码索引（alphas_cumprod[{k}] < 0.5），按论文的编号则是 ᾱ_t "
        "仍不小于一半的最后一步。滑块显示的是论文的 t = 1..T，而 alphas_cumprod[t − 1] 才是 ᾱ_t。",
    "That is where √ᾱ_t, the factor in front of x0, drops below one half (ᾱ_t < 1/4). The question is about the "
    "share of the variance, ᾱ_t itself: the blue bar's length.":
        "这是 √ᾱ_t（x0 前面的系数）降到一半以下的地方（ᾱ_t < 1/4）。题目问的是方差中信号所占的份额，"
        "也就是 ᾱ_t 本身：蓝色条的长度。",
    "That is where √ᾱ_t, the factor in front of x0, drops below one half, counted as a code index. The question "
    "is about ᾱ_t itself (the blue bar), in the papers' numbering.":
        "这是 √ᾱ_t（x0 前面的系数）降到一半以下的地方，而且是按代码索引数的。题目问的是 ᾱ_t 本身"
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
        "先找第一个满足 alphas_cumprod[k] < 0.5 的索引 k，再取 t = k + 1。",
    "```python\nk = int(torch.nonzero(schedule.alphas_cumprod < 0.5)[0])   # code index of the crossing\n"
    "t_cross = k + 1                                              # the papers' step t\n```":
        "```python\nk = int(torch.nonzero(schedule.alphas_cumprod < 0.5)[0])   # 越过 0.5 那一步的代码索引\n"
        "t_cross = k + 1                                              # 论文编号中的步数 t\n```",

    # ---- exercises, chapter 2 (diffusion_lab/exercises/ch2.py) ----
    "the mean":
        "均值",
    "the covariance":
        "协方差",
    "(schedule {name}, T = {T}, μ = {mu}, tol = {tol})":
        "（调度 {name}，T = {T}，μ = {mu}，tol = {tol}）",
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
        "torch.nonzero(cond) 列出 cond 成立的索引；它为空时返回 schedule.T。",
    "you used ᾱ_t; the mean of x_t is √ᾱ_t μ, so compare √ᾱ_t ‖μ‖ with tol.":
        "你用的是 ᾱ_t；x_t 的均值是 √ᾱ_t μ，所以应比较 √ᾱ_t ‖μ‖ 与 tol。",
    "'within tol of the origin' means the Euclidean distance ‖√ᾱ_t μ‖ < tol, not each coordinate separately (use "
    "torch.linalg.vector_norm).":
        "“距原点 tol 以内”指的是欧氏距离 ‖√ᾱ_t μ‖ < tol，而不是每个坐标分别小于 tol（用 torch.linalg.vector_norm）。",
    "off by one — that is the last step still farther than tol; return the first step that is within it.":
        "差了一步——那是距离仍大于 tol 的最后一步；要返回第一个进入 tol 范围的步。",

    # ---- exercises, chapter 3 (diffusion_lab/exercises/ch3.py) ----
    'that is the T = 1000 value. Build the schedule with T = 150 (the argument T of dl.make_schedule).':
        '那是 T = 1000 时的值。请用 T = 150 构造调度（dl.make_schedule 的参数 T）。',
    'Test your idea on a tiny case by hand first: for β = (0.1, 0.2), ᾱ must be (0.9, 0.72). One torch function returns running products (its name starts with cum); decide which tensor holds the per-step factors before you give it one.':
        '先用一个很小的例子手算检验你的想法：β = (0.1, 0.2) 时，ᾱ 必须是 (0.9, 0.72)。有一个 torch 函数返回累积乘积（名字以 cum 开头）；把张量交给它之前，先想清楚哪个张量装着每一步的因子。',
    "You need the 100 steps s = 1..100 (code indices 0..99) as a float64 tensor (look up torch.arange, and mind that its end is exclusive). Make the 100 β's from them, then multiply the factors 1 − β_s (torch.prod, or your q2 function).":
        '你需要把 100 个步 s = 1..100（代码索引 0..99）做成一个 float64 张量（查一下 torch.arange，注意它的终点不包含在内）。由它们构造 100 个 β，再把因子 1 − β_s 相乘（用 torch.prod，或你在 q2 写的函数）。',
    'Check your number before you submit it: it must lie above 0.998¹⁰⁰ ≈ 0.819 (every factor as small as the last one) and below 1 (no noise at all), and it must be a plain float, not a tensor.':
        '提交前先检查你的数：它必须大于 0.998¹⁰⁰ ≈ 0.819（每个因子都和最后一个一样小时的值），又小于 1（完全不加噪声时的值），而且必须是普通的浮点数，而不是张量。',
    'μ̃_t is a weighted sum a·x0 + b·x_t; section 4(a) gives the two weights. Start from α = 1 − β and its running products ᾱ (your function of exercise 1.2 computes them).':
        'μ̃_t 是加权和 a·x0 + b·x_t；第 4(a) 节给出了这两个权重。从 α = 1 − β 和它的累积乘积 ᾱ 出发（练习 1.2 里你写的函数就能算出它们）。',
    'You need T + 1 values of τ = t/T, for t = 0..T, in float64; evaluate f there and divide by f at τ = 0. Turn that curve into T values β_t = 1 − ᾱ(τ_t)/ᾱ(τ_{t−1}) for t = 1..T, clip them at max_beta (the last one would be 1), and multiply the factors 1 − β_t back up.':
        '你需要 t = 0..T 处的 T + 1 个 τ = t/T，用 float64；在这些点上计算 f，再除以 τ = 0 处的 f。把这条曲线变成 t = 1..T 的 T 个值 β_t = 1 − ᾱ(τ_t)/ᾱ(τ_{t−1})，在 max_beta 处截断（最后一个本来会是 1），然后把各因子 1 − β_t 重新连乘起来。',
    "Hold your result against the package before you submit: dl.make_schedule('cosine', T).alphas_cumprod is what it must equal. A last value ≈ 0 means the clip is missing; a first value of exactly 1 means τ started at 0 instead of 1/T.":
        "提交前先和程序包对照：dl.make_schedule('cosine', T).alphas_cumprod 就是你的结果应当等于的值。最后一个值 ≈ 0，说明漏了截断；第一个值恰好是 1，说明 τ 从 0 开始了，而不是从 1/T 开始。",
    'Exercise 3.3 — which β_end puts ᾱ = 0.5 at step t? (bisection)':
        '练习 3.3 —— 哪个 β_end 让 ᾱ 在第 t 步等于 0.5？（二分法）',
    "Every β_s after the first grows with β_end, so ᾱ_t only falls as β_end grows: exactly one β_end gives ᾱ_t = 0.5. Find a value where ᾱ_t is still above 0.5 (β_end = β_start) and one where it is below (β_end = 1, or just below it): the answer lies between them. dl.make_schedule refuses β_end = 1 (every β_t must lie in (0, 1)), so build the β's yourself, as hint 2 says, not with make_schedule.":
        '第一个之后的每个 β_s 都随 β_end 增大，所以 β_end 越大，ᾱ_t 越小：恰好只有一个 β_end 使 ᾱ_t = 0.5。找一个 ᾱ_t 仍高于 0.5 的值（β_end = β_start）和一个低于 0.5 的值（β_end = 1，或略小于 1）：答案就在两者之间。dl.make_schedule 不接受 β_end = 1（每个 β_t 都必须在 (0, 1) 之内），所以要像提示 2 说的那样自己构造这些 β，而不是用 make_schedule。',
    "Bisection: keep an interval [lo, hi] with ᾱ_t above 0.5 at lo and below at hi; evaluate ᾱ_t at the midpoint and let it replace the end on the same side of 0.5. Each round halves the interval, so about 60 rounds reach float64 precision. ᾱ_t multiplies the first t factors 1 − β_s, code indices 0 … t − 1; the β's are evenly spaced from β_start to β_end (look up torch.linspace), in float64.":
        '二分法：保持一个区间 [lo, hi]，使 ᾱ_t 在 lo 处高于 0.5、在 hi 处低于 0.5；在中点计算 ᾱ_t，用它替换与它在 0.5 同一侧的那个端点。每一轮把区间减半，大约 60 轮就达到 float64 的精度。ᾱ_t 是前 t 个因子 1 − β_s 的乘积，代码索引 0 … t − 1；β 从 β_start 到 β_end 等距分布（查一下 torch.linspace），用 float64。',
    'What your bisection must keep true in every round: ᾱ_t > 0.5 at lo and ᾱ_t < 0.5 at hi. Check it for your starting interval before the first round, and check which end each midpoint replaces. The approximation exp(−Σβ) is not good enough here: multiply the factors themselves.':
        '你的二分法在每一轮都必须保持成立的是：ᾱ_t 在 lo 处 > 0.5，在 hi 处 < 0.5。第一轮之前先检查起始区间是否满足这一点，并检查每个中点替换的是哪一个端点。近似 exp(−Σβ) 在这里不够准：要把各因子本身乘起来。',
    'that is the answer of the small-β approximation ᾱ_t ≈ exp(−Σβ_s), which drops Σβ²/2 from the exponent (section 4 uses it for an estimate): with your β_end the product itself misses 0.5. Multiply the factors 1 − β_s, and solve numerically.':
        '这是小 β 近似 ᾱ_t ≈ exp(−Σβ_s) 给出的答案，它在指数里丢掉了 Σβ²/2（第 4 节用它做估算）：用你的 β_end，乘积本身并不等于 0.5。请把各因子 1 − β_s 真正乘起来，再数值求解。',
    'one step late: your β_end puts ᾱ = 0.5 at t + 1. ᾱ_t is the product of the first t factors, code indices k = 0 … t − 1.':
        '晚了一步：你的 β_end 让 ᾱ 在第 t + 1 步等于 0.5。ᾱ_t 是前 t 个因子的乘积，代码索引 k = 0 … t − 1。',
    'one step early: your β_end puts ᾱ = 0.5 at t − 1. ᾱ_t is the product of the first t factors, code indices k = 0 … t − 1.':
        '早了一步：你的 β_end 让 ᾱ 在第 t − 1 步等于 0.5。ᾱ_t 是前 t 个因子的乘积，代码索引 k = 0 … t − 1。',
    "your β_end makes √ᾱ_t = 0.5 (x0's scale halved). The question asks for ᾱ_t = 0.5, the factor on x0's variance.":
        '你的 β_end 让 √ᾱ_t = 0.5（x0 的尺度减半）。题目要的是 ᾱ_t = 0.5，即 x0 方差前的因子。',
    'your answer does not change with t: it is the β_end for t = 500. Use the argument t.':
        '你的答案不随 t 改变：它是 t = 500 时的 β_end。请使用参数 t。',
    'your answer ignores beta_start: with β_start = 0.001 the schedule starts at 0.001, not at 1e-4.':
        '你的答案忽略了 beta_start：β_start = 0.001 时，调度从 0.001 开始，而不是从 1e-4 开始。',
    'for t = {t}, T = {T}, β_start = {beta_start}':
        '当 t = {t}、T = {T}、β_start = {beta_start} 时',
    '{label}: with your β_end = {got:.6g} the linear schedule has ᾱ_t = {abar:.6f}, not 0.5 (within {tol}). ᾱ_t falls as β_end grows: narrow the interval until it brackets 0.5.':
        '{label}：用你的 β_end = {got:.6g}，线性调度的 ᾱ_t = {abar:.6f}，而不是 0.5（误差 {tol} 以内）。β_end 越大，ᾱ_t 越小：不断缩小区间，直到它把 0.5 夹在中间。',
    'Exercise 3.4 — how much of x0 survives to x_T with T = 150?':
        '练习 3.4 —— T = 150 时，x0 有多少留到了 x_T？',
    'x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε, so the factor in front of x0 at the last step, t = T (code index k = T − 1), is what you want: a standard deviation, not a variance. Before computing: section 5 printed 0.364 for T = 200 and 0.78 for T = 50. Where should T = 150 land?':
        'x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε，所以你要的是最后一步 t = T（代码索引 k = T − 1）处 x0 前面的因子：它是标准差，不是方差。计算之前先想一想：第 5 节对 T = 200 打印了 0.364，对 T = 50 打印了 0.78。T = 150 应该落在哪里？',
    'Build the linear schedule with T = 150 with dl.make_schedule (it warns — that is the point); the schedule holds √ᾱ for every step.':
        '用 dl.make_schedule 构造 T = 150 的线性调度（它会发出警告——这正是要点）；调度里存着每一步的 √ᾱ。',
    'Read √ᾱ at the last code index, k = T − 1 = 149 (index −1 in Python), and turn it into a float.':
        '在最后一个代码索引 k = T − 1 = 149（Python 中的索引 −1）处读出 √ᾱ，并转成浮点数。',
    "{value:.4f} is two wrong answers at once. It is ᾱ_T for T = 150, the share of x_T's VARIANCE that comes from x0 (for unit-variance data): x_T = √ᾱ·x0 + √(1−ᾱ)·ε, so the coefficient of x0 is its square root. It is also √ᾱ_T for T = 300, the value section 5 prints: build the schedule with T = 150.":
        '{value:.4f} 同时是两个错误答案。它是 T = 150 时的 ᾱ_T，即 x_T 的方差中来自 x0 的份额（对单位方差的数据而言）：x_T = √ᾱ·x0 + √(1−ᾱ)·ε，所以 x0 的系数是它的平方根。它也是第 5 节打印的 T = 300 时的 √ᾱ_T：请用 T = 150 构造调度。',
    'that is one step before the end. With T = 150 the last step t = 150 has code index k = 149 (index −1), not 148.':
        '那是倒数第二步。T = 150 时，最后一步 t = 150 的代码索引是 k = 149（索引 −1），而不是 148。',
    'that is the T = 200 value section 5 prints. Build the schedule with T = 150.':
        '那是第 5 节打印的 T = 200 时的值。请用 T = 150 构造调度。',
    'that is the T = 50 value section 5 prints. Build the schedule with T = 150.':
        '那是第 5 节打印的 T = 50 时的值。请用 T = 150 构造调度。',
    'expected √ᾱ at the last step of the T = 150 linear schedule, within {accuracy}; got {value:.4f}.':
        '应为 T = 150 的线性调度最后一步的 √ᾱ，误差在 {accuracy} 以内；你的结果是 {value:.4f}。',
    "```python\nshort = dl.make_schedule('linear', T=150)      # ScheduleWarning: x_T still holds signal\nscale_left = float(short.sqrt_alphas_cumprod[-1])   # x_T still carries this share of x0's scale\n```":
        "```python\nshort = dl.make_schedule('linear', T=150)      # ScheduleWarning：x_T 仍带有信号\nscale_left = float(short.sqrt_alphas_cumprod[-1])   # x_T 仍保留 x0 尺度的这一份额\n```",
    'never':
        '从不',
    "the coefficient of x0 in x_T":
        "x_T 中 x0 的系数",
    "for T = {T} expected a 1D tensor of shape ({T},), got shape {shape}.":
        "当 T = {T} 时应返回形状为 ({T},) 的一维张量，你的结果形状是 {shape}。",
    "your ᾱ contains NaN or inf: check for a division by f(T) ≈ 0 or a log of 0.":
        "你的 ᾱ 中含有 NaN 或 inf：检查是否除以了 f(T) ≈ 0，或对 0 取了对数。",
    "for s = {s} expected {want:.5f} (the log-SNR of the package's cosine schedule at t = T/2), got {got:.5f}. "
    "Write ᾱ_{{T/2}} = f(1/2)/f(0) first, then log(ᾱ/(1 − ᾱ)).":
        "当 s = {s} 时应为 {want:.5f}（本课程程序包中余弦调度在 t = T/2 处的对数信噪比），你的结果是 {got:.5f}。"
        "先写出 ᾱ_{{T/2}} = f(1/2)/f(0)，再算 log(ᾱ/(1 − ᾱ))。",
    "Exercise 3.1 — the cosine schedule's ᾱ_t":
        "练习 3.1 —— 余弦调度的 ᾱ_t",
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
    "0 is right only for s = 0, where ᾱ_{T/2} = cos²(π/4) = 1/2. With an offset the angle is (1/2 + s)/(1 + s)·π/2, "
    "a little past π/4, so ᾱ_{T/2} < 1/2 and the log-SNR is negative.":
        "0 只在 s = 0 时正确，那时 ᾱ_{T/2} = cos²(π/4) = 1/2。有偏移量时角度是 (1/2 + s)/(1 + s)·π/2，比 π/4 略大，"
        "所以 ᾱ_{T/2} < 1/2，对数信噪比为负。",
    "you left out the division by f(0): ᾱ(τ) = f(τ)/f(0), so that ᾱ_0 = 1. f(0) = cos²(s/(1+s)·π/2) is just below 1 "
    "for s > 0.":
        "你漏掉了除以 f(0)：ᾱ(τ) = f(τ)/f(0)，这样才有 ᾱ_0 = 1。s > 0 时 f(0) = cos²(s/(1+s)·π/2) 略小于 1。",
    "that is one step late, t = T/2 + 1 (τ = 0.501 for T = 1000): in code, t = T/2 is index T/2 − 1, i.e. "
    "log_snr[499], not log_snr[500].":
        "这晚了一步，是 t = T/2 + 1（T = 1000 时 τ = 0.501）：代码中 t = T/2 的索引是 T/2 − 1，即 log_snr[499]，"
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
    "that is the noise part, √(1−ᾱ) or 1−ᾱ. The question asks for the coefficient of x0: √ᾱ at the last step.":
        "那是噪声部分，√(1−ᾱ) 或 1−ᾱ。题目问的是 x0 的系数：最后一步的 √ᾱ。",

    # ---- exercises, chapter 4 (diffusion_lab/exercises/ch4.py) ----
    "{what} is {got}, but x0 is {want}: keep x0's dtype. schedule.alphas_cumprod is float64 (the course computes "
    'schedules in float64), and a batch of its entries turns float32 x0 into float64; a float32 network then '
    'fails with "mat1 and mat2 must have the same dtype". Cast the coefficients with .to(x0.dtype) before '
    'multiplying.':
        '{what} 是 {got}，但 x0 是 {want}：请保持 x0 的 dtype。schedule.alphas_cumprod 是 '
        'float64（本课程的调度都用 float64 计算），一批步数取出的系数会把 float32 的 x0 变成 float64；之后 '
        'float32 的网络就会报错 "mat1 and mat2 must have the same dtype"。相乘之前先用 .to(x0.dtype) 转换系数。',
    'your function raised {error_type}: {error}. Two dtypes met inside the network: its weights are float32, so '
    'its input x_t must be float32 too. The usual cause is the schedule: schedule.alphas_cumprod is float64 (the '
    'course computes schedules in float64), and multiplying float32 x0 by a batch of its entries gives float64 '
    "x_t. Cast the coefficients to x0's dtype (.to(x0.dtype)).":
        '你的函数抛出了 {error_type}：{error}。网络内部碰上了两种 dtype：它的权重是 float32，所以输入 x_t '
        '也必须是 float32。常见的原因在调度上：schedule.alphas_cumprod 是 float64（本课程的调度都用 float64 '
        '计算），用一批步数取出的系数去乘 float32 的 x0，得到的 x_t 是 float64。请把系数转换成 x0 的 '
        'dtype（.to(x0.dtype)）。',
    'you missed a model whose output changes with t by only one part in a million: a tolerance (torch.allclose, '
    'or a threshold on the difference) hides it. The exercise asks whether the outputs are EXACTLY equal: '
    'torch.equal(a, b).':
        '你漏掉了一个输出随 t 只变化百万分之一的模型：任何容差（torch.allclose，或对差值设阈值）都会把它掩盖掉。题'
        '目问的是输出是否完全相等：torch.equal(a, b)。',
    'for {label}: your eps':
        '{label} 时，你的 eps',
    'for {label}: your x_t':
        '{label} 时，你的 x_t',
    'return three things, x_t, t, eps (a tuple, in that order), got {type_name}.':
        '请返回三样东西：x_t、t、eps（一个元组，按这个顺序），你返回的是 {type_name}。',
    "for {label}: eps should be a tensor of x0's shape {want}, got {got}.":
        '{label} 时：eps 应当是与 x0 形状相同的张量，即 {want}，你的结果是 {got}。',
    'for {label}: x_t should be a tensor, got {type_name}.':
        '{label} 时：x_t 应当是张量，你的结果是 {type_name}。',
    'for {label} your x_t differs from √ᾱ_t·x0 + √(1 − ᾱ_t)·ε (with your own t and ε) by up to {max_abs_diff:.3g}.':
        '{label} 时，你的 x_t 与 √ᾱ_t·x0 + √(1 − ᾱ_t)·ε（用你自己的 t 和 ε）最多相差 {max_abs_diff:.3g}。',
    '{B} points of shape (B, 2) in float32':
        '{B} 个形状为 (B, 2) 的 float32 点',
    '6 images of shape (6, 1, 4, 4) in float32':
        '6 张形状为 (6, 1, 4, 4) 的 float32 图像',
    '64 points in float64':
        '64 个 float64 点',
    'two calls with generators of the same seed gave different batches: draw t and ε with the generator you are '
    'given (generator=generator), and nothing else random.':
        '用相同种子的生成器调用两次，却得到了不同的批次：t 和 ε 都要用传进来的生成器抽取（generator=generator），'
        '不要用别的随机来源。',
    'generators of different seeds gave the same batch: your draws ignore `generator`. Pass generator=generator '
    'to both draws, so a run can be repeated.':
        '不同种子的生成器给出了同样的批次：你的抽样没有用到 `generator`。两次抽样都要传入 '
        'generator=generator，这样一次运行才能复现。',
    'a model whose output changes by one part in a million with t':
        '输出随 t 只变化百万分之一的模型',
    'your output depends on t, but not through the embedding: time_proj gets no gradient, e.g. raw t added to the '
    "features. Raw t runs up to 999 and would swamp them; add the sketch's emb = "
    'self.time_proj(self.time_embed(t)), broadcast over the pixels.':
        '你的输出依赖于 t，但不是通过嵌入向量：time_proj 没有得到梯度，例如把原始的 t 直接加到了特征上。原始的 t '
        '最大到 999，会把特征淹没；请加上草图里的 emb = self.time_proj(self.time_embed(t))，并在各像素上广播。',
    'you made {n} optimisers for {steps} steps: a new one in every step. Adam keeps running averages of the '
    "gradients (and their squares) from step to step; a new optimiser forgets them, so every step is Adam's "
    'cautious first step. Make it once, before the loop.':
        '你为 {steps} 步创建了 {n} 个优化器：每一步都新建一个。Adam '
        '会在各步之间保留梯度（及其平方）的滑动平均；新的优化器会把它们忘掉，于是每一步都成了 Adam '
        '谨慎的第一步。请在循环之前只创建一次。',
    'in {n} of {calls} steps all examples of the batch got the same step t: draw one step per example (a tensor '
    'of shape (256,)), as in exercise 4.1.':
        '在 {calls} 步中有 {n} 步，整批样本都得到了同一个步数 t：请像练习 4.1 那样为每个样本各抽一个步数（形状为 '
        '(256,) 的张量）。',
    "you called model(x_t, {t}) with a python {type_name}: the course's networks take the step as a tensor with "
    'one code index per example, a LongTensor of shape (B,) — for step k, B copies of k.':
        '你用 Python 的 {type_name} 调用了 model(x_t, {t})：本课程的网络要求步数是张量，每个样本一个代码索引，即形'
        '状为 (B,) 的 LongTensor——对步数 k，就是 B 个 k。',
    "you added the sinusoidal embedding self.time_embed(t) itself and skipped self.time_proj. The sketch's emb is "
    'time_proj(time_embed(t)): the fixed sines and cosines go through a learned layer, so training can choose how '
    "each feature channel reacts to t (and the width may differ from the embedding's).":
        '你直接加上了正弦嵌入 self.time_embed(t)，跳过了 self.time_proj。草图里的 emb 是 '
        'time_proj(time_embed(t))：固定的正弦和余弦要经过一个可学习的层，训练才能决定每个特征通道如何响应 '
        't（而且特征宽度可以与嵌入的维数不同）。',
    'the network got x_t as {got}, but its weights are {want}: this is what makes a network fail with "mat1 and '
    'mat2 must have the same dtype". schedule.alphas_cumprod is float64; for a batch of steps its entries turn '
    "float32 x0 into float64 x_t. Cast them to x0's dtype (.to(x0.dtype)), as in exercise 4.1.":
        '网络收到的 x_t 是 {got}，但它的权重是 {want}：正是这一点让网络报错 "mat1 and mat2 must have the same '
        'dtype"。schedule.alphas_cumprod 是 float64；对一批步数，它取出的系数会把 float32 的 x0 变成 float64 的 '
        'x_t。请像练习 4.1 那样把系数转换成 x0 的 dtype（.to(x0.dtype)）。',
    'for {label}: {err} schedule.alphas_cumprod[t] has shape (B,), which does not broadcast against x0 of shape '
    '(B, ...): give it one value per example and size-1 dimensions for the rest, shape (B, 1, ...).':
        '{label} 时：{err} schedule.alphas_cumprod[t] 的形状是 (B,)，无法与形状为 (B, ...) 的 x0 '
        '广播：让它每个样本一个值，其余维度大小为 1，即形状 (B, 1, ...)。',
    'Exercise 4.1 — one training batch: steps, noise and x_t':
        '练习 4.1 —— 一个训练批次：步数、噪声和 x_t',
    'A training batch needs three things per example: a step, a noise, and the noisy sample made from the two. '
    'Draw the step and the noise with the generator you are given, then noise in one jump with the closed form — '
    "√ᾱ_t on x0, not the template's ᾱ_t.":
        '一个训练批次中，每个样本需要三样东西：一个步数、一份噪声，以及由这两者得到的加噪样本。用传进来的生成器抽'
        '取步数和噪声，再用闭式解一步加噪——x0 前面是 √ᾱ_t，而不是模板里的 ᾱ_t。',
    "Steps: integers uniform over all code indices 0 … T−1, one per example (torch.randint's upper bound is "
    "exclusive). Noise: standard normal, with x0's shape and dtype. For a batch of steps, ᾱ_t is a vector of B "
    "values: it must line up with x0's FIRST dimension, whatever x0's shape.":
        '步数：在全部代码索引 0 … T−1 上均匀分布的整数，每个样本一个（torch.randint '
        '的上界不包含在内）。噪声：标准正态，形状和 dtype 与 x0 相同。对一批步数，ᾱ_t 是 B 个值组成的向量：无论 '
        'x0 是什么形状，它都必须对齐 x0 的第一个维度。',
    "Two traps remain. schedule.alphas_cumprod is float64: cast the B values to x0's dtype before multiplying, or "
    'float32 data comes back as float64 x_t, which a float32 network rejects later. And give the B values as many '
    'size-1 dimensions as x0 has after the first, (B, 1) for points, (B, 1, 1, 1) for images; then x_t = √ᾱ_t·x0 '
    '+ √(1 − ᾱ_t)·ε, returned with t and ε.':
        '还剩两个陷阱。schedule.alphas_cumprod 是 float64：相乘之前先把这 B 个值转换成 x0 的 dtype，否则 float32 '
        '的数据会变成 float64 的 x_t，之后被 float32 的网络拒绝。另外，x0 在第一维之后有几个维度，就给这 B '
        '个值补上几个大小为 1 的维度：点是 (B, 1)，图像是 (B, 1, 1, 1)；然后 x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·ε，与 t '
        '和 ε 一起返回。',
    'A model may react to t only in part of the range, or only by a hair. So probe EVERY step, not two, and ask '
    'for exact equality, not closeness: torch.equal, not torch.allclose.':
        '模型可能只在一部分范围内对 t 有反应，或者反应极其微小。所以要探测每一个步数，而不是两个；并且要求完全相等'
        '，而不是接近：用 torch.equal，不用 torch.allclose。',
    'Compute the output at step 0 once; then, for each step k from 1 to T−1, compare the output at k with it and '
    'answer True at the first difference, False if none differs. The networks take the step as a LongTensor with '
    'one entry per example (torch.full makes B copies of k), and no gradients are needed (torch.no_grad()).':
        '先算一次步数 0 的输出；然后对 1 到 T−1 的每个步数 k，把 k 处的输出与它比较，遇到第一个不同就回答 '
        'True，全都相同则回答 False。网络要求步数是每个样本一个元素的 LongTensor（torch.full 可以生成 B 个 '
        'k），而且不需要梯度（torch.no_grad()）。',
    'emb has shape (B, width), one value per channel; the features after the first convolution have shape (B, '
    'width, H, W). Add emb to them between two layers, so the later layers see it.':
        'emb 的形状是 (B, width)，每个通道一个值；第一个卷积之后的特征形状是 (B, width, H, W)。在两层之间把 emb '
        '加到特征上，后面的层才能看到它。',
    "Copy the sketch's forward and add one line after the first convolution: the features plus emb, with two "
    'size-1 dimensions appended to emb so it broadcasts over the pixels (indexing with None adds them). F is '
    'torch.nn.functional.':
        '照抄草图的 forward，在第一个卷积之后加一行：特征加上 emb，并给 emb 末尾补两个大小为 1 '
        '的维度，使它在各像素上广播（用 None 索引即可添加）。F 就是 torch.nn.functional。',
    "Exercise 4.1's noisy_batch already makes x_t, t and ε for a batch: reuse it (or write the same draws here, "
    'with the generator). Then ask the network for its guess at that x_t and that t, and reduce the squared '
    'differences to ε to ONE number.':
        '练习 4.1 的 noisy_batch 已经能为一批数据生成 x_t、t 和 ε：直接复用它（或者在这里用生成器写出同样的抽样）'
        '。然后让网络在这个 x_t 和这个 t 上给出猜测，把它与 ε 的平方差归约成一个数。',
    'The loss is the mean of (ε − ε̂)² over every entry, examples and coordinates alike: not the sum (it would '
    'grow with the batch), not the square of the mean error. The network sees x_t, never x0, with the same t that '
    'made x_t; its output is compared with ε, not with x0.':
        '损失是 (ε − ε̂)² 在所有元素上的平均，样本和坐标一视同仁：不是求和（那会随批大小增长），也不是平均误差的平'
        '方。网络看到的是 x_t，而不是 x0，配上生成 x_t 的同一个 t；它的输出与 ε 比较，而不是与 x0 比较。',
    "Make the Adam optimiser ONCE, before the loop, over the model's parameters, with learning rate 3·10⁻³: it "
    'keeps running averages of the gradients from step to step, which a new optimiser would forget. Each step: '
    "256 clean points from sample_data, then exercise 4.4's loss on them with the generator — it makes exercise "
    "4.1's batch itself, so draw t and ε once per step, not a second time.":
        '在循环之前只创建一次 Adam 优化器，作用于模型的参数，学习率 3·10⁻³：它会在各步之间保留梯度的滑动平均，新建'
        '的优化器会把它们忘掉。每一步：从 sample_data 取 256 个干净的点，再用生成器对它们计算练习 4.4 的损失——'
        '它自己会做出练习 4.1 的批次，所以每一步只抽一次 t 和 ε，不要再抽第二次。',
    'The three optimiser calls, in order: clear the old gradients (without zero_grad each step adds its gradient '
    'to all earlier ones), backpropagate the loss, step. Append the loss as a plain number (.item()) and return '
    'the list.':
        '优化器的三个调用，按顺序：清除旧梯度（没有 zero_grad，每一步的梯度都会加到之前所有的梯度上），对损失反向'
        '传播，更新一步。把损失作为普通数字（.item()）追加到列表中，最后返回这个列表。',
    'for float32 x0, the x_t you gave the model':
        '对 float32 的 x0，你传给模型的 x_t',
    "the template's bug is still there: the signal is scaled by ᾱ_t, but it must be √ᾱ_t. With ᾱ_t the variance of "
    "x_t is ᾱ_t²·Var(x0) + (1 − ᾱ_t), not 1 for unit-variance data, and x_t has the wrong distribution at every t, "
    "so the network trains on inputs that sampling never produces.":
        "模板里的错误还在：信号被乘上了 ᾱ_t，但应当是 √ᾱ_t。用 ᾱ_t 时 x_t 的方差是 ᾱ_t²·Var(x0) + (1 − ᾱ_t)，"
        "对单位方差的数据来说不等于 1，x_t 在每个 t 上的分布都是错的，"
        "网络训练时看到的输入是采样过程中永远不会出现的。",
    "the noise is scaled by (1 − ᾱ_t); it must be √(1 − ᾱ_t). The closed form gives x_t VARIANCE ᾱ_t·Var(x0) + (1 − "
    "ᾱ_t): the square roots are the standard deviations.":
        "噪声被乘上了 (1 − ᾱ_t)；应当是 √(1 − ᾱ_t)。闭式解给出的 x_t 方差是 ᾱ_t·Var(x0) + (1 − ᾱ_t)："
        "平方根才是标准差。",
    "both ᾱ_t and 1 − ᾱ_t appear without square roots: they are variances, the multipliers are their square roots "
    "√ᾱ_t and √(1 − ᾱ_t).":
        "ᾱ_t 和 1 − ᾱ_t 都没有开平方：它们是方差，乘在前面的系数是它们的平方根 √ᾱ_t 和 √(1 − ᾱ_t)。",
    "the signal and noise coefficients are swapped: x0 gets √ᾱ_t (≈ 1 at small t), ε gets √(1 − ᾱ_t).":
        "信号和噪声的系数对调了：x0 乘 √ᾱ_t（t 小时 ≈ 1），ε 乘 √(1 − ᾱ_t)。",
    "you only scaled x0: the noise term √(1 − ᾱ_t)·ε is missing.":
        "你只缩放了 x0：缺少噪声项 √(1 − ᾱ_t)·ε。",
    "the x0 term is not scaled: it must shrink as √ᾱ_t (x0 + noise only grows the variance).":
        "x0 项没有缩放：它应当按 √ᾱ_t 收缩（x0 加噪声只会让方差变大）。",
    "you answered True for every model, also for the sketch, whose output is identical for every t (the embedding "
    "is never added to anything). Compare model(x_t, t) for the SAME x_t and different t — are they exactly equal?":
        "你对每个模型都回答 True，连那个草图也不例外，而它的输出对每个 t 都完全相同（嵌入向量从来没有加到任何地方）"
        "。对同一个 x_t、不同的 t 比较 model(x_t, t)——它们是否完全相等？",
    "you answered False for every model, also for ones that do use t. Compare model(x_t, t) for different t on the "
    "same x_t.":
        "你对每个模型都回答 False，包括确实用到了 t 的模型。对同一个 x_t、不同的 t 比较 model(x_t, t)。",
    "the loss":
        "损失值",
    "the x_t you gave the model":
        "你传给模型的 x_t",
    "the losses":
        "各步的损失值",
    "for {label} x_t":
        "{label} 时的 x_t",
    "your loss is {got:.5g}, but (ε − model(x_t, t))² averaged over this batch gives {want:.5g}. Build x_t in "
    "closed form, call model(x_t, t), and average (ε − ε̂)².":
        "你的损失值是 {got:.5g}，但在这一批数据上对 (ε − model(x_t, t))² 求平均得到的是 {want:.5g}。用闭式解构造 "
        "x_t，调用 model(x_t, t)，再对 (ε − ε̂)² 求平均。",
    "the sketch (it ignores t)":
        "那个草图（它忽略 t）",
    "the fixed sketch (it uses t)":
        "修好的草图（它用到 t）",
    "you said the sketch uses t, but its output is identical for every t (the embedding is never added to "
    "anything). Did you compare the same t twice, or different x_t?":
        "你说草图用到了 t，但它的输出对每个 t 都完全相同（嵌入向量从来没有加到任何地方）。你是不是把同一个 t "
        "比较了两次，或者用了不同的 x_t？",
    "pass your class itself (a subclass of SketchDenoiser): q3.check(FixedSketch).":
        "请传入类本身（SketchDenoiser 的子类）：q3.check(FixedSketch)。",
    "forward must return ε̂ with x's shape {want}, got {got}.":
        "forward 应当返回与 x 形状相同的 ε̂，即 {want}，你的结果是 {got}。",
    "keep the sketch's layers: subclass SketchDenoiser so self.time_proj exists.":
        "保留草图原有的层：继承 SketchDenoiser，这样 self.time_proj 才存在。",
    "subclass SketchDenoiser (class FixedSketch(SketchDenoiser): ...) and only write forward.":
        "继承 SketchDenoiser（class FixedSketch(SketchDenoiser): ...），只重写 forward。",
    "x_t is built with the template's bug (ᾱ_t x0 instead of √ᾱ_t x0): fix it as in exercise 4.1.":
        "x_t 是用模板里有错的公式构造的（ᾱ_t x0 而不是 √ᾱ_t x0）：按练习 4.1 改正它。",
    "you summed the squared errors; L_simple is their MEAN (over the batch and the coordinates), so its size does "
    "not depend on the batch size: use .mean().":
        "你把平方误差求了和；L_simple 是它们的平均值（对批次和坐标求平均），这样它的大小才不依赖于批大小：请用 "
        ".mean()。",
    "you compared the output with x_t; the target is the noise ε.":
        "你把输出与 x_t 比较了；目标应是噪声 ε。",
    "you averaged the errors without squaring them.":
        "你对误差求了平均，却没有先平方。",
    "you gave the whole batch one step t. Draw one per example, torch.randint(0, T, (B,), generator=generator): "
    "then every batch trains many steps at once, and one random t per example is an unbiased estimate of the sum "
    "over all t.":
        "你给整批数据只用了一个步数 t。应当每个样本各抽一个：torch.randint(0, T, (B,), generator=generator)。"
        "这样每一批都能同时训练许多步，而每个样本随机取一个 t，是对所有 t 求和的无偏估计。",
    "t should have one step per example, shape ({B},), got {shape}.":
        "t 应当每个样本一个步数，形状为 ({B},)，你的结果是 {shape}。",
    "the loss must be ONE number (a 0-dim tensor), got shape {shape}: average over the batch and the coordinates "
    "with .mean().":
        "损失必须是一个数（0 维张量），你的结果形状是 {shape}：用 .mean() 对批次和坐标求平均。",
    "your loss never called model(x_t, t): the network's ε̂ = model(x_t, t) is what it trains.":
        "你的损失函数从未调用 model(x_t, t)：训练的对象正是网络的 ε̂ = model(x_t, t)。",
    "you fed the clean x0 to the network. It must see the noisy x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε (with the same t): that "
    "is the input it will get during sampling.":
        "你把干净的 x0 喂给了网络。它应当看到带噪的 x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε（用同一个 t）："
        "这才是采样时它会得到的输入。",
    "your loop never called model(x_t, t) with gradients on: the loss must come from the model.":
        "你的训练循环从未在开启梯度时调用 model(x_t, t)：损失必须来自模型。",
    "the weights never changed: make an optimiser over model.parameters() (torch.optim.Adam) and call "
    "optimizer.step() after loss.backward() in every step.":
        "权重从未改变：为 model.parameters() 创建一个优化器（torch.optim.Adam），并在每一步的 loss.backward() "
        "之后调用 optimizer.step()。",
    "no batch was ever drawn at code index 0 (the papers' t = 1): torch.randint(1, T, ...) carries the papers' t ≥ "
    "1 into code and never trains the step the sampler's last move uses. Draw torch.randint(0, T, ...).":
        "没有任何一批抽到代码索引 0（论文的 t = 1）：torch.randint(1, T, ...) 把论文中的 t ≥ 1 照搬进了代码，"
        "采样器最后一步用到的那一步永远得不到训练。请用 torch.randint(0, T, ...)。",
    "no batch was ever drawn at the last code index {last} (the papers' t = T, where sampling starts). "
    "torch.randint's upper bound is exclusive: torch.randint(0, T, ...).":
        "没有任何一批抽到最后一个代码索引 {last}（论文的 t = T，采样从这里开始）。torch.randint "
        "的上界是不包含在内的：torch.randint(0, T, ...)。",
    "FixedSketch() raised {type_name}: {err}. Keep the sketch's __init__ (subclass SketchDenoiser and only write "
    "forward).":
        "FixedSketch() 抛出了 {type_name}：{err}。保留草图的 __init__（继承 SketchDenoiser，只重写 forward）。",
    "the output no longer depends on the image x: keep the convolutions on x and ADD the embedding to their "
    "features.":
        "输出不再依赖于图像 x：保留作用在 x 上的卷积，把嵌入向量加到它们的特征上。",
    "your ε is not standard normal noise (mean {mean:.3f}, variance {var:.3f}; N(0, 1) gives 0 and 1): use "
    "torch.randn(x0.shape, generator=generator).":
        "你的 ε 不是标准正态噪声（均值 {mean:.3f}，方差 {var:.3f}；N(0, 1) 应为 0 和 1）：请用 "
        "torch.randn(x0.shape, generator=generator)。",
    "your x_t are too close to the middle (mean x_t² {got:.3f} where √ᾱ_t x0 + √(1−ᾱ_t) ε gives {right:.3f}): that "
    "is the template's ᾱ_t x0. The signal's coefficient is √ᾱ_t (exercise 4.1).":
        "你的 x_t 太靠近中间了（x_t² 的均值为 {got:.3f}，而 √ᾱ_t x0 + √(1−ᾱ_t) ε 给出的是 {right:.3f}）："
        "这是模板里的 ᾱ_t x0。信号的系数是 √ᾱ_t（练习 4.1）。",
    "uses_time on {label}":
        "在{label}上运行 uses_time",
    "Exercise 4.2 — spot the bug: does the network look at t?":
        "练习 4.2 —— 找错误：网络有没有看 t？",
    "Exercise 4.3 — fix the sketch so it uses t":
        "练习 4.3 —— 修好草图，让它用上 t",
    "The sketch computes a time embedding emb from t, one value per feature channel, and then never uses it. Where "
    "could it enter the image features h?":
        "草图由 t 算出了时间嵌入 emb（每个特征通道一个值），之后却再也没用它。它可以从哪里进入图像特征 h？",
    "Exercise 4.4 — L_simple for one batch":
        "练习 4.4 —— 一批数据的 L_simple",
    "Exercise 4.5 — the whole training loop":
        "练习 4.5 —— 完整的训练循环",
    "Each step: a batch of clean points and the loss of exercise 4.4 on it (which draws one random step and fresh "
    "noise per point and makes x_t), then the usual three optimiser lines. Return the list of losses.":
        "每一步：取一批干净的点，对它计算练习 4.4 的损失（它会为每个点抽一个随机步数和新的噪声，并构造 x_t），"
        "然后是常见的三行优化器代码。最后返回损失值列表。",

    # ---- exercises, chapter 5 (diffusion_lab/exercises/ch5.py) ----
    'Build ᾱ as the cumulative product of 1 − β along the steps. For ᾱ_{t−1}, put a 1 in front and drop the last '
    "entry (torch.cat joins the two pieces; keep betas' dtype). Then β̃ is the elementwise ratio times betas, as "
    'in the formula.':
        'ᾱ 是 1 − β 沿步数的累积乘积。ᾱ_{t−1} 则是在前面补一个 1、去掉最后一项（用 torch.cat 拼接两段，保持 betas '
        '的 dtype）。然后按公式逐元素地算出比值再乘以 betas，就得到 β̃。',
    "Loop over the code indices from T − 1 down to 0 (code index k is the papers' t = k + 1). Call the network "
    "with a LongTensor that holds k once per example. Draw z only when k > 0, with torch.randn on x's shape and "
    'dtype and the generator you are given: the check replays the same generator, so the number and order of the '
    'draws must match.':
        '按代码索引从 T − 1 循环到 0（代码索引 k 就是论文的 t = k + 1）。调用网络时传入一个 '
        'LongTensor，每个样本一个 k。只在 k > 0 时抽取 z：用 torch.randn，形状和 dtype 与 x '
        '相同，并使用传进来的生成器——检查会重放同一个生成器，所以抽样的次数和顺序都必须一致。',
    "Inside the loop the step is exercise 5.2's: the mean from ε̂ with β, α and ᾱ at index k, plus √β̃ at index k "
    'times z, except at k = 0. Append each new x to the list that started with x_T and return it: T + 1 states.':
        '循环内的一步就是练习 5.2 的那一步：用索引 k 处的 β、α、ᾱ 由 ε̂ 算出均值，再加上索引 k 处的 √β̃ 乘以 z（k '
        '= 0 时除外）。把每个新的 x 追加到以 x_T 开头的列表中，最后返回它：共 T + 1 个状态。',
    "you got β_t back: the ratio uses ᾱ_{t−1} on top and ᾱ_t below, (1 − ᾱ_{t−1})/(1 − ᾱ_t) < 1, so β̃_t is a bit "
    "smaller than β_t.":
        "你得到的是 β_t 本身：比值中 ᾱ_{t−1} 在分子、ᾱ_t 在分母，(1 − ᾱ_{t−1})/(1 − ᾱ_t) < 1，所以 β̃_t 比 β_t "
        "略小。",
    "the factor β_t is missing: β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t) · β_t.":
        "缺少因子 β_t：β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t) · β_t。",
    "your noise has σ_t² = β_t; this exercise asks for σ_t² = β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t "
    "(schedule.posterior_variance[k] at code index k = t − 1). Both are valid choices, but they differ — mostly at "
    "small t.":
        "你的噪声用了 σ_t² = β_t；本练习要求 σ_t² = β̃_t = (1 − ᾱ_{t−1})/(1 − "
        "ᾱ_t)·β_t（代码索引 k = t − 1 处的 schedule.posterior_variance[k]）。两种选择都合理，但它们不同——主要在 t 较小时。",
    "you used the variance as the noise scale: multiply z by σ_t = √β̃_t, not by β̃_t.":
        "你把方差当成了噪声的尺度：z 应乘以 σ_t = √β̃_t，而不是 β̃_t。",
    "the ε̂ coefficient must be β_t/√(1 − ᾱ_t), not β_t: the network predicts the TOTAL noise in x_t, of which only "
    "a part was added in the last step.":
        "ε̂ 的系数应为 β_t/√(1 − ᾱ_t)，而不是 β_t：网络预测的是 x_t 中的全部噪声，最后一步只加入了其中一部分。",
    "the division by √α_t is missing: μ = (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t.":
        "缺少除以 √α_t：μ = (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t。",
    "you returned the predicted x̂0 = (x_t − √(1−ᾱ_t)ε̂)/√ᾱ_t — a jump straight to the end, which is only E[x0 | "
    "x_t], a blurry average. One step goes from t to t − 1 only.":
        "你返回的是预测的 x̂0 = (x_t − √(1−ᾱ_t)ε̂)/√ᾱ_t——一下子跳到终点，而它只是 E[x0 | x_t]，一个模糊的平均。"
        "一步只从 t 走到 t − 1。",
    "ᾱ_t and ᾱ_s are swapped.":
        "ᾱ_t 和 ᾱ_s 对调了。",
    "every step lands on the mean: no fresh noise σ_t·z is added, so the samples lose their spread (chapter 5, "
    "section 2). Add √β̃_t·z at every step but the last, with z drawn from the generator you are given, in x's "
    "shape and dtype.":
        "每一步都落在均值上：没有加入新的噪声 σ_t·z，样本就失去了离散程度（第 5 章第 2 节）。除最后一步外，"
        "每一步都加上 √β̃_t·z，其中 z 用给你的生成器抽取，形状和 dtype 与 x 相同。",
    "the last step (code index 0, the papers' t = 1) must add no noise: its result is the sample x_0. Draw z only "
    "for k > 0, so your random numbers also stay in step with the reference's.":
        "最后一步（代码索引 0，论文的 t = 1）不能加噪声：它的结果就是样本 x_0。只在 k > 0 时抽取 z，"
        "这样你的随机数也能与参考实现一步步对齐。",
    "your noise has σ_t² = β_t; this exercise asks for σ_t² = β̃_t (schedule.posterior_variance[k]). Both are valid "
    "DDPM samplers, but only β̃_t reproduces the reference step by step.":
        "你的噪声用了 σ_t² = β_t；本练习要求 σ_t² = β̃_t（schedule.posterior_variance[k]）。两者都是合法的 DDPM "
        "采样器，但只有 β̃_t 能一步步复现参考结果。",
    "the ratio is upside down: (1 − ᾱ_s)/(1 − ᾱ_t), the earlier (less noisy) step s on top, which is < 1.":
        "比值颠倒了：应为 (1 − ᾱ_s)/(1 − ᾱ_t)，较早（噪声较小）的步 s 在分子上，它小于 1。",
    "β̃":
        "β̃",
    "Return one β̃ per step.":
        "每一步返回一个 β̃。",
    "x_(t−1)":
        "x_(t−1)",
    "One step keeps x_t's shape.":
        "一步之后仍保持 x_t 的形状。",
    "your loop first differs from the package's DDPM after step k = {k} (the papers' t = {t}; state {j} of your "
    "list), by up to {max_abs_diff:.3g}. Same x_T and the same generator give the same noise only if z is drawn "
    "once per step, with torch.randn(x.shape, generator=generator, dtype=x.dtype), for k > 0 only.":
        "你的循环在第 k = {k} 步之后（论文的 t = {t}；你列表中的第 {j} 个状态）开始与程序包的 DDPM 不一致，最多相差 "
        "{max_abs_diff:.3g}。同样的 x_T 和同样的 generator 只有在每一步只抽一次 z、用 torch.randn(x.shape, "
        "generator=generator, dtype=x.dtype)、且只在 k > 0 时抽取，才会给出同样的噪声。",
    "return a list of the states [x_T, x_(T−1), …, x_0], got {type_name}.":
        "请返回状态列表 [x_T, x_(T−1), …, x_0]，你返回的是 {type_name}。",
    "your list has {n} states; x_T plus one state after each of the T = {T} steps makes {n_want}. The loop runs "
    "over the code indices k = T − 1, …, 0: `for k in range(schedule.T - 1, -1, -1)` (range(T − 1, 0, −1) skips the "
    "last step).":
        "你的列表有 {n} 个状态；x_T 加上 T = {T} 步中每一步之后的一个状态，共 {n_want} 个。循环遍历代码索引 k = T − "
        "1, …, 0：`for k in range(schedule.T - 1, -1, -1)`（range(T − 1, 0, −1) 会漏掉最后一步）。",
    "each state must keep x_T's shape {shape}; yours have {got}.":
        "每个状态都必须保持 x_T 的形状 {shape}；你的是 {got}。",
    "from t = {t} to s = {s} your x_s differs from √ᾱ_s·x̂0 + √(1 − ᾱ_s)·ε̂ by up to {max_abs_diff:.3g}.":
        "从 t = {t} 到 s = {s}，你的 x_s 与 √ᾱ_s·x̂0 + √(1 − ᾱ_s)·ε̂ 最多相差 {max_abs_diff:.3g}。",
    "the network was called with step {step}, but code indices run 0 … T − 1 = {last}: the papers' t = 1 … T is "
    "index k = t − 1. Loop `for k in range(schedule.T - 1, -1, -1)` and pass k.":
        "网络被调用时用的步数是 {step}，但代码索引的范围是 0 … T − 1 = {last}：论文的 t = 1 … T 对应索引 k = t − 1。"
        "循环写成 `for k in range(schedule.T - 1, -1, -1)`，并传入 k。",
    "Exercise 5.1 — the posterior variance β̃_t":
        "练习 5.1 —— 后验方差 β̃_t",
    "β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t: you need ᾱ_t and ᾱ_{t−1} for every t, both made from betas.":
        "β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t：对每个 t 都需要 ᾱ_t 和 ᾱ_{t−1}，两者都由 betas 得到。",
    "Exercise 5.2 — one DDPM step":
        "练习 5.2 —— 一步 DDPM",
    "you wrote x_{t−1} = (x_t − √β_t·ε̂)/√(1 − β_t): that undoes ONE forward step x_t = √(1 − β_t)·x_{t−1} + √β_t·ε "
    "as if ε̂ were the noise added in that step alone. But ε̂ estimates the TOTAL noise in x_t (x_t = √ᾱ_t x0 + √(1 "
    "− ᾱ_t) ε), of which the last step added only a part, so its coefficient is β_t/√(1 − ᾱ_t) (≈ 0.0105 at t = "
    "500, against √β_t ≈ 0.1): the mean is (x_t − β_t/√(1 − ᾱ_t)·ε̂)/√α_t, and then σ_t·z is added.":
        "你写的是 x_{t−1} = (x_t − √β_t·ε̂)/√(1 − β_t)：这是在撤销一步前向过程 x_t = √(1 − β_t)·x_{t−1} + √β_t·ε，"
        "仿佛 ε̂ 只是这一步加入的噪声。但 ε̂ 估计的是 x_t 中的全部噪声（x_t = √ᾱ_t x0 + √(1 − ᾱ_t) ε），"
        "最后一步只加入了其中一部分，所以它的系数是 β_t/√(1 − ᾱ_t)（t = 500 时约为 0.0105，而 √β_t ≈ 0.1）：均值是 "
        "(x_t − β_t/√(1 − ᾱ_t)·ε̂)/√α_t，然后再加上 σ_t·z。",
    "Exercise 5.4 — the whole sampling loop":
        "练习 5.4 —— 完整的采样循环",
    "Start from x = x_T and keep a list of states. For each step from the noisiest to the last: ask the network for "
    "ε̂, take one DDPM step (exercise 5.2), append the result.":
        "从 x = x_T 出发，维护一个状态列表。从噪声最大的一步到最后一步，每一步：向网络要 ε̂，走一步 DDPM（练习 5.2）"
        "，把结果追加到列表中。",

    # ---- exercises, chapters 4 and 5: code indices named k, 5.2 with clip, 5.3 from x̂0, 5.5 η (review 45) ----
    'that is ONE noising step q(x_t | x_{t−1}) with α_t and β_t. To jump from x0 straight to x_t use the '
    'cumulative product ᾱ_t = α_1·α_2⋯α_t (schedule.alphas_cumprod).':
        '这是一步加噪 q(x_t | x_{t−1})，用的是 α_t 和 β_t。要从 x0 一步跳到 x_t，请用累积乘积 ᾱ_t = '
        'α_1·α_2⋯α_t（schedule.alphas_cumprod）。',
    'off by one step: you used ᾱ_{t−1} (alphas_cumprod_prev). For the code index k = t − 1, alphas_cumprod[k] is '
    'ᾱ_t, the one x_t needs.':
        '差了一步：你用的是 ᾱ_{t−1}（alphas_cumprod_prev）。对代码索引 k = t − 1，alphas_cumprod[k] 就是 ᾱ_t，正是 '
        'x_t 需要的那个。',
    'off by one step: you used ᾱ_{t+1}. For the code index k = t − 1, alphas_cumprod[k] is ᾱ_t, the one x_t needs.':
        '差了一步：你用的是 ᾱ_{t+1}。对代码索引 k = t − 1，alphas_cumprod[k] 就是 ᾱ_t，正是 x_t 需要的那个。',
    'you compared neighbouring steps (code indices k = 0 and k = 1) and missed a model that changes its output '
    'only for k ≥ 50 (of T = 100). Compare the output at step k with the output at step 0 for EVERY code index k '
    'in 0..T−1.':
        '你只比较了相邻的两步（代码索引 k = 0 和 k = 1），漏掉了一个只在 k ≥ 50（T = 100 '
        '中）才改变输出的模型。请对 0..T−1 中的每一个代码索引 k，把第 k 步的输出与第 0 步的输出比较。',
    'two probes cannot decide it: you missed a model that reacts to t only for code indices 40 ≤ k < 45 (of T = '
    '100; its output at k = 0 and k = T−1 is the same). Compare the output at step k with the output at step 0 for '
    'EVERY code index k in 0..T−1.':
        '两次探测无法判断：你漏掉了一个只在代码索引 40 ≤ k < 45（T = 100 中）才对 t 有反应的模型（它在 k = 0 和 k '
        '= T−1 的输出相同）。请对 0..T−1 中的每一个代码索引 k，把第 k 步的输出与第 0 步的输出比较。',
    'you answered False for {label}. Compare the output at step k with the output at step 0 for every code index k '
    'in 0..T−1, with exact equality (torch.equal).':
        '你对{label}回答了 False。请对 0..T−1 中的每一个代码索引 k，把第 k 步的输出与第 0 '
        '步的输出做精确比较（torch.equal）。',
    'a model that reacts to t only for code indices k ≥ 50':
        '一个只在代码索引 k ≥ 50 时才对 t 有反应的模型',
    'a model that reacts to t only for code indices 40 ≤ k < 45':
        '一个只在代码索引 40 ≤ k < 45 时才对 t 有反应的模型',
    'the output still does not change with t: the embedding must be added to the features between two layers '
    '(before the last convolution), with two size-1 dimensions appended so it broadcasts over the pixels.':
        '输出仍然不随 t 改变：时间嵌入必须在两层之间（最后一个卷积之前）加到特征上，并在后面补两个大小为 1 '
        '的维度，使它能在各个像素上广播。',
    "your loss compares the network's output with x0. In ε-prediction the target is the noise ε that made x_t: the "
    "mean squared difference between ε and the network's output.":
        '你的损失把网络输出与 x0 比较。在 ε 预测中，目标是生成 x_t 的那份噪声 ε：取 ε 与网络输出之差的平方的均值。',
    'you squared the mean error; square each error first, then average the squares.':
        '你把误差的均值平方了；应当先把每个误差平方，再对平方求平均。',
    't must be integer code indices (a LongTensor, as torch.randint gives), got {dtype}.':
        't 必须是整数代码索引（LongTensor，torch.randint 给出的就是），得到的却是 {dtype}。',
    'all {B} examples got the same code index k = {t}: you drew one step for the whole batch. Draw one per example '
    '(a tensor of shape ({B},)): then every batch trains many steps at once, and one random t per example is an '
    'unbiased estimate of the average over all t.':
        '全部 {B} 个样本得到了同一个代码索引 k = {t}：你为整批只抽了一个步数。请为每个样本各抽一个（形状为 ({B},) '
        '的张量）：这样每个批次同时训练许多步，而每个样本一个随机 t 是对所有 t 平均值的无偏估计。',
    "you drew the code index {t}, outside 0..T−1 = 0..{last} (the papers' t = 1..T, k = t − 1). torch.randint's "
    'upper bound is exclusive: torch.randint(0, T, ...).':
        '你抽到了代码索引 {t}，超出了 0..T−1 = 0..{last}（论文中的 t = 1..T，k = t − 1）。torch.randint '
        '的上界不包含在内：torch.randint(0, T, ...)。',
    "no example in {B} was drawn at code index k = 0 (the papers' t = 1): torch.randint(1, T, ...) (the papers' t "
    "≥ 1 carried into code) draws 1..T−1 only, so index 0 — the step the sampler's last move uses — is never "
    'trained. Draw torch.randint(0, T, ...).':
        '{B} 个样本中没有一个抽到代码索引 k = 0（论文中的 t = 1）：torch.randint(1, T, ...)（把论文中的 t ≥ 1 '
        '搬进了代码）只抽 1..T−1，所以索引 0——采样最后一步用到的那一步——从未被训练。请抽 torch.randint(0, T, ...)。',
    'no example in {B} was drawn at the last code index k = {last} (t = T): the noisiest step, where sampling '
    "starts, is never trained. torch.randint's upper bound is exclusive: torch.randint(0, T, ...).":
        '{B} 个样本中没有一个抽到最后的代码索引 k = {last}（t = '
        'T）：噪声最大、采样起步的那一步从未被训练。torch.randint 的上界不包含在内：torch.randint(0, T, ...)。',
    'your code indices are not uniform over 0..T−1: their mean is {mean:.1f}, uniform steps give {middle} ± '
    '{se:.1f}. Draw them with torch.randint(0, T, (B,), generator=generator).':
        '你的代码索引在 0..T−1 上不均匀：它们的均值是 {mean:.1f}，均匀抽取应为 {middle} ± {se:.1f}。请用 '
        'torch.randint(0, T, (B,), generator=generator) 抽取。',
    "return the loss of every step: a list of {loop_steps} numbers (each step's loss as a plain number, with "
    '.item()).':
        '请返回每一步的损失：一个含 {loop_steps} 个数的列表（每一步的损失都用 .item() 转成普通数）。',
    "the gradients pile up: when the optimiser stepped, the weights' .grad held the sum of this step's gradient "
    "and earlier ones. Clear the old gradients (the optimiser's zero_grad) before every backward pass.":
        '梯度在累积：优化器更新时，权重的 .grad 里装的是这一步的梯度加上之前各步的梯度。每次反向传播之前先清空旧梯'
        '度（优化器的 zero_grad）。',
    'your loss grew to {final:.3g}: the gradients pile up from step to step. Clear the old gradients (the '
    "optimiser's zero_grad) before every backward pass.":
        '你的损失涨到了 {final:.3g}：梯度在一步步累积。每次反向传播之前先清空旧梯度（优化器的 zero_grad）。',
    "the trained network's L_simple on fresh data is {held_out:.2f}, no better than answering 0 (which scores 1). "
    "If the target is ε, the gradients probably pile up: clear the old gradients (the optimiser's zero_grad) "
    'before every backward pass.':
        '训练后的网络在新数据上的 L_simple 是 {held_out:.2f}，并不比一直回答 0（得分为 1）好。如果目标确实是 '
        'ε，多半是梯度在累积：每次反向传播之前先清空旧梯度（优化器的 zero_grad）。',
    'the mean of your last 50 losses is {final:.3f}; after {loop_steps} steps it should be below {loop_loss_max}. '
    "Why that bound: the exact ε* scores about 0.25 (the floor: no loop's mean gets far under it), the reference "
    'loop reaches 0.28–0.29, and a network that answers 0 scores 1. Use batches of 256 and one Adam optimiser with '
    'learning rate 3·10⁻³.':
        '你最后 50 个损失的均值是 {final:.3f}；训练 {loop_steps} 步之后它应当低于 '
        '{loop_loss_max}。这个界限的理由：精确的 ε* 得分约 '
        '0.25（下限：任何训练循环的均值都不会远低于它），参考循环能到 0.28–0.29，而一直回答 0 的网络得分为 1。请用 '
        '256 的批次，以及一个学习率为 3·10⁻³ 的 Adam 优化器。',
    'the loss is fine but the samples are not: MMD² {mmd2:.3g} to fresh data (should be below {loop_mmd_max}). Why '
    'that bound: two data sets score about 0.002 and the reference loop 0.013–0.025 (depending on the seed), so it '
    'leaves a 2× margin; loops that learn a wrong target or never clear their gradients score 0.15 or more. Check '
    'that the model gets the same t the noise level was made with.':
        '损失没问题，但样本不行：与新数据的 MMD² 为 {mmd2:.3g}（应低于 '
        '{loop_mmd_max}）。这个界限的理由：两组数据之间约为 0.002，参考循环为 0.013–0.025（随种子而变），所以留有 '
        '2 倍的余量；学错目标或从不清空梯度的循环会得到 0.15 或更高。请检查模型拿到的 t '
        '是否就是生成该噪声水平时用的那个 t。',
    "the trained network's L_simple on fresh data is {held_out:.2f}, no better than answering 0 (which scores 1), "
    'while it predicts x0 with error {x0_error:.2f}: your loss compares the output with x0. In ε-prediction the '
    "target is the noise ε that made x_t: average the squared differences between ε and the network's output.":
        '训练后的网络在新数据上的 L_simple 是 {held_out:.2f}，并不比一直回答 0（得分为 1）好，而它预测 x0 的误差是 '
        '{x0_error:.2f}：你的损失把输出与 x0 比较。在 ε 预测中，目标是生成 x_t 的那份噪声 ε：对 ε '
        '与网络输出之差的平方求平均。',
    "{err}. Code indices run k = 0..T−1 (the papers' t = 1..T, k = t − 1): draw them with torch.randint(0, T, "
    '...), whose upper bound is exclusive.':
        '{err}。代码索引为 k = 0..T−1（论文中的 t = 1..T，k = t − 1）：请用 torch.randint(0, T, ...) '
        '抽取，它的上界不包含在内。',
    "all right except the first entry (k = 0, the maths' t = 1): your β̃_1 is not 0. Before the first step nothing "
    'is noised (ᾱ_0 = 1), so 1 − ᾱ_0 = 0 and β̃_1 = 0: the last step of sampling adds no noise. Put a 1 in front '
    'of the ᾱ that stand for ᾱ_{t−1}.':
        '除了第一项（k = 0，数学中的 t = 1）之外都对：你的 β̃_1 不是 0。第一步之前什么都还没加噪（ᾱ_0 = 1），所以 '
        '1 − ᾱ_0 = 0，β̃_1 = 0：采样的最后一步不加噪声。请在代表 ᾱ_{t−1} 的那些 ᾱ 前面放一个 1。',
    'the ratio is upside down (or divides by 1 − ᾱ_0 = 0): it is (1 − ᾱ_{t−1}) / (1 − ᾱ_t), previous step on top.':
        '比值倒过来了（或者除以了 1 − ᾱ_0 = 0）：应为 (1 − ᾱ_{t−1}) / (1 − ᾱ_t)，前一步在分子上。',
    'off by one step: for code index k, ᾱ_{t−1} is alphas_cumprod[k − 1] when k ≥ 1 and ᾱ_0 = 1 when k = 0; your '
    'values are shifted by one index.':
        '差了一步：对代码索引 k，当 k ≥ 1 时 ᾱ_{t−1} 是 alphas_cumprod[k − 1]，当 k = 0 时 ᾱ_0 = '
        '1；你的值错开了一个索引。',
    "at k = 0 (the maths' t = 1, the last step) add no noise: the result is the sample x_0 itself, σ_1 = 0 (β̃_1 = "
    '0 anyway).':
        '在 k = 0（数学中的 t = 1，最后一步）不加噪声：结果就是样本 x_0 本身，σ_1 = 0（反正 β̃_1 = 0）。',
    "that is the template's update √ᾱ_{t−1}·x̂0 + √(1 − ᾱ_{t−1})·z: the predicted x̂0 put back at noise level t − "
    '1 with all-fresh noise. It is a valid sampler — a DDIM step with the largest σ the family allows, σ² = 1 − '
    "ᾱ_{t−1} (η far above 1), which keeps nothing of x_t's noise — but not the DDPM step this exercise asks for. "
    'DDPM keeps part of x_t through the posterior mean (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t and adds only σ_t·z with σ_t² '
    '= β̃_t.':
        '这是模板里的更新 √ᾱ_{t−1}·x̂0 + √(1 − ᾱ_{t−1})·z：把预测的 x̂0 放回噪声水平 t − '
        '1，噪声全是新抽的。它是一个有效的采样器——DDIM 一族中 σ 取到最大允许值的一步，σ² = 1 − ᾱ_{t−1}（η 远大于 '
        '1），完全不保留 x_t 中的噪声——但不是本练习要求的 DDPM 步。DDPM 通过后验均值 (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t '
        '保留 x_t 的一部分，只再加上 σ_t² = β̃_t 的 σ_t·z。',
    'you forgot to add the noise σ_t·z (at every step but the last, k > 0). Without it every step lands on the '
    'average of x_{t−1}: the samples shrink together.':
        '你忘了加噪声 σ_t·z（除最后一步外的每一步，k > 0）。没有它，每一步都落在 x_{t−1} '
        '的平均值上：样本会缩到一起。',
    'with clip = 1.0 your step is the unclipped one. The ε̂-only form of the mean, (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t, '
    'is μ̃_t(x_t, x̂0) with the UNCLIPPED x̂0 plugged in: once x̂0 is clipped it no longer applies. Compute x̂0, '
    'clip it to [−clip, clip], and take the posterior mean μ̃_t(x_t, x̂0) of section 1.':
        '在 clip = 1.0 时，你的步骤仍是未裁剪的那一个。均值只含 ε̂ 的形式 (x_t − '
        'β_t/√(1−ᾱ_t)·ε̂)/√α_t，是把未裁剪的 x̂0 代入 μ̃_t(x_t, x̂0) 得到的：一旦 x̂0 被裁剪，它就不再成立。请先算 '
        'x̂0，把它裁剪到 [−clip, clip]，再取第 1 节的后验均值 μ̃_t(x_t, x̂0)。',
    'you clipped the result x_{t−1}. Clip the guess x̂0 instead: x_{t−1} still carries noise and may lie outside '
    '[−1, 1]; only the clean image x0 is known to lie inside.':
        '你裁剪的是结果 x_{t−1}。应当裁剪的是猜测 x̂0：x_{t−1} 仍带着噪声，可能落在 [−1, 1] 之外；只有干净图像 x0 '
        '才确定在这个范围之内。',
    "you used the network's output as ε̂ in section 4's formula. This network predicts the clean x̂0, not the "
    'noise: the noise that goes with it follows from the closed form x_t = √ᾱ_t·x̂0 + √(1 − ᾱ_t)·ε̂, solved for ε̂.':
        '你把网络的输出当作 ε̂ 代入了第 4 节的公式。这个网络预测的是干净的 x̂0，而不是噪声：与它配套的噪声来自闭式 '
        'x_t = √ᾱ_t·x̂0 + √(1 − ᾱ_t)·ε̂，对 ε̂ 求解即可。',
    'you dropped the direction term √(1 − ᾱ_s)·ε̂: x_s is not clean yet, it must keep the noise level of step s, '
    'and with η = 0 that noise is the one x_t already holds (ε̂), not fresh noise.':
        '你丢掉了方向项 √(1 − ᾱ_s)·ε̂：x_s 还没有干净，它必须保持第 s 步的噪声水平；η = 0 时这份噪声就是 x_t '
        '已有的那份（ε̂），而不是新噪声。',
    'you returned x̂0 (a jump to the end). DDIM goes to the next visited step s: √ᾱ_s·x̂0 + √(1 − ᾱ_s)·ε̂, with ε̂ '
    'recovered from x_t and x̂0.':
        '你返回了 x̂0（一步跳到终点）。DDIM 要走到下一个访问的步 s：√ᾱ_s·x̂0 + √(1 − ᾱ_s)·ε̂，其中 ε̂ 由 x_t 和 '
        'x̂0 求出。',
    'the square roots are missing: the coefficients are √ᾱ_s and √(1 − ᾱ_s) (standard deviations), and recovering '
    'ε̂ uses √ᾱ_t and √(1 − ᾱ_t).':
        '缺了平方根：系数是 √ᾱ_s 和 √(1 − ᾱ_s)（标准差），求 ε̂ 时用的是 √ᾱ_t 和 √(1 − ᾱ_t)。',
    'ε̂ is wrong: x_t was made at step t, so ε̂ = (x_t − √ᾱ_t·x̂0)/√(1 − ᾱ_t), with ᾱ_t of the CURRENT step.':
        'ε̂ 错了：x_t 是在第 t 步生成的，所以 ε̂ = (x_t − √ᾱ_t·x̂0)/√(1 − ᾱ_t)，用的是当前这一步的 ᾱ_t。',
    'that is the update √ᾱ_{t−1}·x̂0 + √(1 − ᾱ_{t−1})·z at every step: a valid sampler (a DDIM step with the '
    "largest σ the family allows, η > 1: all-fresh noise), but not DDPM. DDPM's step is the posterior mean (x_t − "
    'β_t/√(1−ᾱ_t)·ε̂)/√α_t plus √β̃_t·z.':
        '这是在每一步都做更新 √ᾱ_{t−1}·x̂0 + √(1 − ᾱ_{t−1})·z：一个有效的采样器（DDIM 一族中 σ '
        '取到最大允许值的一步，η > 1：噪声全是新抽的），但不是 DDPM。DDPM 的一步是后验均值 (x_t − '
        'β_t/√(1−ᾱ_t)·ε̂)/√α_t 加上 √β̃_t·z。',
    'that is η², not η: σ grows linearly with η, so σ² grows with η²; take the square root at the end.':
        '这是 η²，不是 η：σ 随 η 线性增长，所以 σ² 随 η² 增长；最后要开平方根。',
    "you divided σ by the factor's square: σ is η times the factor itself (a product of two square roots), so "
    'solve σ = η·f for η with f, not f².':
        '你用 σ 除以了因子的平方：σ 等于 η 乘以因子本身（两个平方根之积），所以对 η 解 σ = η·f 时要用 f，而不是 f²。',
    'the argument is the variance σ², not σ: take its square root (or divide σ² by the factor itself, not by its '
    'square root, and take the square root of the result).':
        '参数是方差 σ²，不是 σ：要对它开平方根（或者用 σ² 除以因子本身而不是它的平方根，再对结果开平方根）。',
    'you multiplied by the factor: solving σ = η·f for η divides by f.':
        '你乘上了这个因子：从 σ = η·f 解出 η 要除以 f。',
    'the factor (1 − ᾱ_s)/(1 − ᾱ_t) is missing: without it, s = t − 1 and σ² = β̃_t would not give η = 1.':
        '缺了因子 (1 − ᾱ_s)/(1 − ᾱ_t)：没有它，s = t − 1 且 σ² = β̃_t 时得不到 η = 1。',
    'η':
        'η',
    'with s = t − 1 and σ² = β̃_t your η should be 1 at every step, and is not.':
        '当 s = t − 1 且 σ² = β̃_t 时，你的 η 在每一步都应等于 1，但并非如此。',
    'your β̃ contains NaN or inf: the ratio is probably upside down and divides by 1 − ᾱ_0 = 0. It is (1 − '
    'ᾱ_{t−1}) / (1 − ᾱ_t), previous step on top.':
        '你的 β̃ 中含有 NaN 或 inf：比值多半倒过来了，除以了 1 − ᾱ_0 = 0。应为 (1 − ᾱ_{t−1}) / (1 − '
        'ᾱ_t)，前一步在分子上。',
    'for {name} (T = {T}) your β̃ is farthest off at index k = {bad} (β̃_t for t = {t}): expected {want:.6g}, got '
    '{got:.6g}.':
        '对于 {name}（T = {T}），你的 β̃ 在索引 k = {bad}（t = {t} 的 β̃_t）处偏差最大：应为 {want:.6g}，得到 '
        '{got:.6g}。',
    "at k = {k} (the maths' t = {t}), clip = {clip}, your x_(t−1) differs from the reference by up to "
    '{max_abs_diff:.3g}.':
        '在 k = {k}（数学中的 t = {t}）、clip = {clip} 时，你的 x_(t−1) 与参考答案最多相差 {max_abs_diff:.3g}。',
    'from t = {t} to s = {s} with σ² = {sigma2:.6g}: expected η = {ref:.6g}, got {out:.6g}.':
        '从 t = {t} 到 s = {s}、σ² = {sigma2:.6g} 时：应为 η = {ref:.6g}，得到 {out:.6g}。',
    '{err}: a square root of a negative number. With s < t every factor is positive if the last one is 1 − ᾱ_t/ᾱ_s '
    "(the current step's ᾱ on top; = β_t when s = t − 1).":
        '{err}：对负数开了平方根。当 s < t 时，只要最后一个因子是 1 − ᾱ_t/ᾱ_s（当前步的 ᾱ 在分子上；s = t − 1 '
        '时等于 β_t），每个因子都是正的。',
    'Hold x_t fixed and vary only the step. The model ignores t exactly when its output is the same for every code '
    'index k = 0..T−1.':
        '固定 x_t，只改变步数。模型忽略 t，当且仅当它对每一个代码索引 k = 0..T−1 的输出都相同。',
    'One training step on a batch: draw a step (a code index) and noise ε for every example, make x_t in closed '
    "form, and compare the network's ε̂ = model(x_t, t) with ε.":
        '对一个批次训练一步：为每个样本抽一个步数（代码索引）和噪声 ε，用闭式生成 x_t，再把网络的 ε̂ = model(x_t, '
        't) 与 ε 比较。',
    'ᾱ = torch.cumprod(1 − betas, 0). ᾱ_{t−1} is the same tensor shifted right by one, with ᾱ_0 = 1 in front '
    '(before the first step nothing is noised), so β̃_1 = 0.':
        'ᾱ = torch.cumprod(1 − betas, 0)。ᾱ_{t−1} 是同一个张量右移一位，前面补上 ᾱ_0 = '
        '1（第一步之前什么都还没加噪），所以 β̃_1 = 0。',
    'One DDPM step is the posterior mean of x_{t−1} given x_t and the guess x̂0, plus fresh noise σ_t·z — except '
    'at the last step (code index k = 0), which adds none. With clip, the guess x̂0 is clipped to [−clip, clip] '
    'before it is used.':
        'DDPM 的一步是：给定 x_t 和猜测 x̂0 时 x_{t−1} 的后验均值，加上新噪声 σ_t·z——最后一步（代码索引 k = '
        '0）除外，它不加噪声。给定 clip 时，猜测 x̂0 在使用前先被裁剪到 [−clip, clip]。',
    'Section 1 writes the mean two ways: μ̃_t(x_t, x̂0), and a form in ε̂ alone that follows when the unclipped '
    'x̂0 is plugged in. Only the first survives clipping: x̂0 from ε̂ (the inverted closed form), clipped, then '
    "μ̃_t's two coefficients. σ_t² = β̃_t is schedule.posterior_variance at the index.":
        '第 1 节把均值写成了两种形式：μ̃_t(x_t, x̂0)，以及代入未裁剪的 x̂0 后得到的只含 ε̂ '
        '的形式。裁剪之后只有前者仍然成立：由 ε̂ 求出 x̂0（把闭式反过来），裁剪它，再用 μ̃_t 的两个系数。σ_t² = '
        'β̃_t 就是该索引处的 schedule.posterior_variance。',
    'Read β, α, ᾱ_t and ᾱ_{t−1} (alphas_cumprod_prev) at the index as python floats, square roots with math.sqrt; '
    'clamp x̂0 only when clip is not None. Form μ̃_t; at k = 0 return it as it is, otherwise add √β̃_t times z.':
        '在该索引处把 β、α、ᾱ_t 和 ᾱ_{t−1}（alphas_cumprod_prev）读成 python 浮点数，用 math.sqrt 开平方根；只有当 '
        'clip 不是 None 时才裁剪 x̂0。算出 μ̃_t；k = 0 时直接返回它，否则再加上 √β̃_t 乘以 z。',
    'Exercise 5.3 — one DDIM step (η = 0) from a network that predicts x̂0':
        '练习 5.3 —— 为预测 x̂0 的网络走一步 DDIM（η = 0）',
    'DDIM with η = 0 puts x̂0 back at the noise level of step s, reusing the noise x_t already holds. Here the '
    'network hands you x̂0; what you lack is that noise.':
        'η = 0 的 DDIM 把 x̂0 放回第 s 步的噪声水平，重用 x_t 里已有的那份噪声。这里网络直接给你 '
        'x̂0；你缺的是那份噪声。',
    'x_t = √ᾱ_t x̂0 + √(1 − ᾱ_t) ε̂ ties x_t, x̂0 and ε̂ together: given two, solve for the third. Then section '
    "4's step with σ = 0.":
        'x_t = √ᾱ_t x̂0 + √(1 − ᾱ_t) ε̂ 把 x_t、x̂0 和 ε̂ 联系在一起：已知其中两个，就能解出第三个。然后是第 4 '
        '节中 σ = 0 的那一步。',
    "Recover ε̂ from the closed form, with ᾱ_t of the current step (x_t was made at step t); then take section 4's "
    'step to the noise level of step s. ᾱ_t and ᾱ_s are python floats (math.sqrt). Check: at s = 0 (ᾱ_0 = 1) the '
    'step returns x̂0 itself.':
        '先用当前步的 ᾱ_t 从闭式中恢复 ε̂（x_t 是在第 t 步生成的）；再用第 4 节的步骤走到第 s 步的噪声水平。ᾱ_t 和 '
        'ᾱ_s 是 python 浮点数（math.sqrt）。检验：在 s = 0（ᾱ_0 = 1）时，这一步返回 x̂0 本身。',
    'Exercise 5.5 — which η is DDPM?':
        '练习 5.5 —— 哪个 η 就是 DDPM？',
    "Section 4's σ is η times a factor that depends on ᾱ_t and ᾱ_s only. Given σ², solve for η (η ≥ 0).":
        '第 4 节的 σ 等于 η 乘以一个只依赖于 ᾱ_t 和 ᾱ_s 的因子。给定 σ²，解出 η（η ≥ 0）。',
    'Square both sides first: σ² is η² times the square of that factor, so no square root is left inside. For the '
    'paper part, put s = t − 1: what is 1 − ᾱ_t/ᾱ_{t−1}? Then compare what remains with β̃_t of section 1.':
        '先两边平方：σ² 等于 η² 乘以那个因子的平方，这样里面就不再有平方根了。纸上的部分：令 s = t − 1，1 − '
        'ᾱ_t/ᾱ_{t−1} 是什么？再把剩下的部分与第 1 节的 β̃_t 比较。',
    "Solve σ = η·f for η, where f is section 4's factor (a product of two square roots, written with ᾱ_t and "
    'ᾱ_s). All are python floats (math.sqrt); η comes out ≥ 0.':
        '对 η 解方程 σ = η·f，其中 f 是第 4 节的因子（两个平方根之积，用 ᾱ_t 与 ᾱ_s 写出）。它们都是 python '
        '浮点数（math.sqrt）；η 应当 ≥ 0。',

    # ---- exercises, chapter 6 (diffusion_lab/exercises/ch6.py); guidance_explorer.plot_tilted_1d ----
    "Measured on {n} samples from the same noise, w = 1 → w = 4: mean distance from the centre {radius_1:.2f} → "
    "{radius_4:.2f} (class 0's data: {data_radius:.2f}); spread around class 0's centres {spread_1:.2f} → "
    "{spread_4:.2f} × the data's; in class 0 {precision_1:.1f} % → {precision_4:.1f} %.":
        "在同一份噪声生成的 {n} 个样本上测得，w = 1 → w = 4：到中心的平均距离 {radius_1:.2f} → {radius_4:.2f}（类别 0 "
        "的数据：{data_radius:.2f}）；相对类别 0 各中心的离散程度 {spread_1:.2f} → {spread_4:.2f} 倍于数据；落在类别 "
        "0 中的比例 {precision_1:.1f} % → {precision_4:.1f} %。",
    "ε̃":
        "ε̃",
    "the other classes sit around the ring and across its centre, so pushing away from them (the w·∇ log p(y | x_t) "
    "term) pushes samples outwards, beyond the data.":
        "其他类别分布在圆环上以及圆心的另一侧，所以远离它们的推力（w·∇ log p(y | x_t) "
        "这一项）会把样本向外推，超出数据所在的位置。",
    "guidance does not shrink each Gaussian of class 0: it pushes the samples away from the other classes, off the "
    "data, so their distance to class 0's centres grows.":
        "引导并不会让类别 0 的每个高斯分量收缩：它把样本推离其他类别、推离数据，于是样本到类别 0 各中心的距离变大。",
    "answer with a dict of your three predictions, e.g. {{'radius': 'same', 'spread': 'smaller', "
    "'follows_conditional': True}}; got {type_name}.":
        "请用一个字典回答三个预测，例如 {{'radius': 'same', 'spread': 'smaller', 'follows_conditional': "
        "True}}；你给的是 {type_name}。",
    "predict all three: {missing} missing (keys {keys}).":
        "三项都要预测：缺少 {missing}（键为 {keys}）。",
    "not what the measurement shows for {keys}: {why} {measured}":
        "测量结果与你对 {keys} 的预测不符：{why} {measured}",
    "a dropped label must become null_label = {null} (the reserved 'no label' index K, one past the last class), not "
    "{bad}: label 0 is the digit 0, a real class.":
        "被丢弃的标签必须变成 null_label = {null}（保留的“无标签”下标 K，即最后一个类别之后的那个），而不是 "
        "{bad}：标签 0 是数字 0，是一个真实的类别。",
    "you dropped {dropped:.1f} % of the labels: the comparison is the wrong way round. rand < p_uncond is true with "
    "probability p_uncond = {p}.":
        "你丢弃了 {dropped:.1f} % 的标签：比较的方向反了。rand < p_uncond 为真的概率是 p_uncond = {p}。",
    "all or nothing: you made one decision for the whole batch. Draw one random number per label: a tensor of them "
    "with y's shape, from the generator you were given.":
        "要么全丢、要么全留：你对整批数据只做了一次决定。应为每个标签各抽一个随机数：用给你的 generator "
        "抽出一个与 y 形状相同的随机数张量。",
    "{dropped:.1f} % of the labels became ∅; with p_uncond = {p} expect {expected:.0f} % (± {margin:.1f} %).":
        "{dropped:.1f} % 的标签变成了 ∅；p_uncond = {p} 时应约为 {expected:.0f} %（± {margin:.1f} %）。",
    "the same labels are dropped in both halves of the batch: draw fresh random numbers for every label.":
        "批次的前后两半丢弃了相同的标签：每个标签都要抽新的随机数。",
    "the same generator seed gave different drops: draw the random numbers from the generator passed to your "
    "function (torch's random functions accept one), so a training run can be repeated exactly.":
        "同一个 generator 种子给出了不同的丢弃结果：随机数要从传给你的函数的那个 generator 中抽取（torch "
        "的随机函数都可以接收一个 generator），这样一次训练才能被精确复现。",
    "a different generator gave the same drops: your random numbers do not come from the generator passed to your "
    "function (torch's random functions accept one).":
        "不同的 generator 给出了相同的丢弃结果：你的随机数并不是从传给你的函数的那个 generator 中抽取的（torch "
        "的随机函数都可以接收一个 generator）。",
    "with p_uncond = 0 every label must stay as it is.":
        "p_uncond = 0 时每个标签都必须保持不变。",
    "with p_uncond = 1 every label must become null_label = {null}.":
        "p_uncond = 1 时每个标签都必须变成 null_label = {null}。",
    "{key} must be one of {options}, got {value!r}.":
        "{key} 必须是 {options} 之一，你给的是 {value!r}。",
    "return a tensor of labels (like y), got {type_name}.":
        "请返回一个标签张量（和 y 一样），你返回的是 {type_name}。",
    "return one label per sample: shape {want}, got {got}.":
        "每个样本返回一个标签：形状应为 {want}，你的结果是 {got}。",
    "your function changed y in place; the data set's labels must stay as they are. Build a new tensor "
    "(torch.where(...)) instead of assigning into y.":
        "你的函数原地修改了 y；数据集的标签必须保持原样。请构造一个新张量（torch.where(...)），不要给 y 赋值。",
    "Exercise 6.1 — label dropout in a training step":
        "练习 6.1 —— 训练步中的标签丢弃",
    "Exercise 6.2 — guidance from a classifier's gradient":
        "练习 6.2 —— 用分类器的梯度做引导",
    "Exercise 6.3 — predict the effect of w on the exact 2D example":
        "练习 6.3 —— 预测 w 在精确二维例子上的效果",
    "Exercise 6.4 — which density does ε_∅ + w (ε_y − ε_y⁻) follow?":
        "练习 6.4 —— ε_∅ + w (ε_y − ε_y⁻) 跟随的是哪个密度？",
    "Each label, independently, is replaced by null_label with probability p_uncond; the rest stay. One random number "
    "per label decides.":
        "每个标签独立地以概率 p_uncond 被替换为 null_label，其余保持不变。每个标签由一个随机数决定。",
    "A uniform random number in [0, 1) is below p_uncond with probability p_uncond: draw one per label (with the "
    "generator you were given), compare, and keep the result as a True/False mask.":
        "[0, 1) 上均匀分布的随机数小于 p_uncond 的概率正是 p_uncond：为每个标签抽一个（用给你的 "
        "generator），做比较，把结果保存成一个 True/False 掩码。",
    "With the mask, choose null_label where it is True and the original label elsewhere, in a new integer tensor. "
    "torch has a function that picks, element by element, from one of two tensors by a mask (look up torch.where), "
    "and one that makes a tensor shaped like another and filled with one value (look up torch.full_like).":
        "有了掩码，就在它为 True 处取 null_label、其他地方取原来的标签，放进一个新的整数张量。torch "
        "有一个按掩码逐元素地从两个张量之一中挑选的函数（查一查 torch.where），还有一个能造出与另一个张量形状相同、"
        "取值全为同一个数的张量的函数（查一查 torch.full_like）。",
    "the labels must stay integers (an embedding looks them up): build the ∅ labels with y's own dtype, not as floats "
    "(look up torch.full_like: it copies a tensor's shape and dtype).":
        "标签必须保持为整数（嵌入层要用它们查表）：∅ 标签要用 y 自己的 dtype 构造，不要用浮点数（查一查 "
        "torch.full_like：它会沿用一个张量的形状和 dtype）。",
    "Write every ε as a scaled score, ε = −√(1−ᾱ_t) ∇ log p_t(·), and the conditional score with Bayes' rule. Which "
    "terms does the guided ε̃ need, and which of them does a classifier give you?":
        "把每个 ε 写成缩放后的得分 ε = −√(1−ᾱ_t) ∇ log p_t(·)，再用贝叶斯公式写出条件得分。引导后的 ε̃ "
        "需要哪些项？其中哪些是分类器能给你的？",
    "Bayes: ∇ log p_t(x_t | y) − ∇ log p_t(x_t) = ∇ log p_t(y | x_t) (the prior p(y) does not depend on x_t). So ε_y "
    "− ε_∅ is the classifier's gradient times one factor — which one, with which sign?":
        "贝叶斯公式：∇ log p_t(x_t | y) − ∇ log p_t(x_t) = ∇ log p_t(y | x_t)（先验 p(y) 与 x_t 无关）。所以 ε_y − "
        "ε_∅ 是分类器的梯度乘以某个因子——是哪个因子，符号是什么？",
    "The factor is the one that turns any score into an ε (section 2's first fact), sign included. Before you write "
    "anything, test your formula on paper at w = 0 (it must give ε_∅) and at w = 1 (it must give ε_y).":
        "这个因子就是把任何得分变成 ε 的那个（第 2 节的第一个事实），连同符号。动手写之前，先在纸上检验你的公式："
        "w = 0 时它必须给出 ε_∅，w = 1 时必须给出 ε_y。",
    "you added the classifier's gradient as it is. An ε and a score are not in the same units: ε = −√(1−ᾱ_t) · ∇ log "
    "p_t, so the gradient needs that factor, sign included, before it joins ε_∅.":
        "你把分类器的梯度原封不动地加了上去。ε 和得分的单位不同：ε = −√(1−ᾱ_t) · ∇ log "
        "p_t，所以梯度要先乘上这个因子（连同符号），才能与 ε_∅ 相加。",
    "right size, wrong direction: ε points *against* the score (ε = −√(1−ᾱ_t) ∇ log p_t: the noise is what a denoiser "
    "removes, and removing it climbs the density). With your sign, samples are pushed away from class y.":
        "大小对了，方向反了：ε 指向与得分*相反*的方向（ε = −√(1−ᾱ_t) ∇ log "
        "p_t：噪声是去噪器要去掉的东西，去掉它就是沿密度往上爬）。按你的符号，样本会被推离类别 y。",
    "the factor is upside down: an ε is √(1−ᾱ_t) times a score (with a minus sign), not a score divided by it.":
        "因子颠倒了：ε 是得分乘以 √(1−ᾱ_t)（带负号），而不是得分除以它。",
    "the factor is √(1−ᾱ_t), the standard deviation of the noise in x_t, not its variance 1 − ᾱ_t.":
        "因子是 √(1−ᾱ_t)，即 x_t 中噪声的标准差，而不是它的方差 1 − ᾱ_t。",
    "the factor is √(1−ᾱ_t), the noise's share of x_t, not √ᾱ_t, the signal's.":
        "因子是 √(1−ᾱ_t)，即 x_t 中噪声所占的部分，而不是信号所占的 √ᾱ_t。",
    "you have the guidance term but not its starting point: the result starts from ε_∅ (eps_uncond), the "
    "unconditional prediction, and the classifier moves it.":
        "你有了引导项，却没有它的起点：结果从无条件预测 ε_∅（eps_uncond）出发，再由分类器去移动它。",
    "your w is off by one: at w = 1 the result must be the conditional prediction ε(x_t, y), and yours gives the "
    "unconditional one there. (Ho & Salimans (2022) call this chapter's w − 1 their w; here w is the chapter's: w = 0 "
    "unconditional, w = 1 conditional.)":
        "你的 w 差了一：w = 1 时结果必须是条件预测 ε(x_t, y)，而你的结果在那里给出的是无条件预测。（Ho & Salimans "
        "(2022) 把本章的 w − 1 记作他们的 w；这里的 w 是本章的：w = 0 为无条件，w = 1 为条件。）",
    "your w is off by one the other way: at w = 0 the result must be ε_∅ (eps_uncond), and yours gives the "
    "conditional prediction ε(x_t, y) there. That is Ho & Salimans' (2022) convention, ε̃ = (1 + w) ε_y − w ε_∅, "
    "whose w = 0 is conditional; this chapter's w is theirs plus 1.":
        "你的 w 往另一个方向差了一：w = 0 时结果必须是 ε_∅（eps_uncond），而你的结果在那里给出的是条件预测 "
        "ε(x_t, y)。那是 Ho & Salimans (2022) 的约定，ε̃ = (1 + w) ε_y − w ε_∅，其中 w = 0 就是条件预测；"
        "本章的 w 等于他们的 w 加 1。",
    "Return one ε̃ per point, the shape of eps_uncond.":
        "每个点返回一个 ε̃，形状与 eps_uncond 相同。",
    "at t = {t}, w = {w:g} your ε̃ is not the exact guided field of the labelled ring (largest difference {gap:.3g}). "
    "Check w = 0 first (it must give eps_uncond), then the factor that turns a score into an ε.":
        "在 t = {t}、w = {w:g} 时，你的 ε̃ 不是带标签圆环的精确引导场（最大差值 {gap:.3g}）。先检查 w = 0（必须得到 "
        "eps_uncond），再检查把得分变成 ε 的那个因子。",
    "At noise level t the guided field is the score of p_t(x_t)·p_t(y | x_t)^w. Where is p(y = 0 | x) close to 1, and "
    "where is it small?":
        "在噪声水平 t 上，引导场是 p_t(x_t)·p_t(y | x_t)^w 的得分。p(y = 0 | x) 在哪里接近 1，又在哪里很小？",
    "Raising p(y | x) to the power 4 barely changes points deep inside class 0 and strongly down-weights points near "
    "the other classes. Where are the other classes — around the ring, across its centre, or both? Which way does a "
    "push away from them go?":
        "把 p(y | x) 取 4 次方，几乎不改变深处类别 0 "
        "内部的点，却会大大压低靠近其他类别的点的权重。其他类别在哪里——在圆环上、在圆心另一侧，还是两处都有？远离它们"
        "的推力朝哪个方向？",
    "Follow that push: a sample of class 0 that moves away from every other class moves away from the centre too. "
    "What does that do to its distance from class 0's own two centres — and can samples that moved still be "
    "distributed like the class's data?":
        "顺着这股推力想：一个远离所有其他类别的类别 0 样本，也在远离中心。这对它到类别 0 "
        "自己两个中心的距离有什么影响？移动过的样本还能和该类的数据同分布吗？",
    "at w = 4 the samples are not p(x0 | y): they sit further out than the class's own data. At each noise level "
    "guidance follows the score of p_t(x_t)·p_t(y | x_t)^w, which is p_t(x_t | y) only at w = 1.":
        "w = 4 时样本并不服从 p(x0 | y)：它们比该类别自己的数据更靠外。在每个噪声水平上，引导跟随的是 p_t(x_t)·p_t(y "
        "| x_t)^w 的得分，它只有在 w = 1 时才是 p_t(x_t | y)。",
    "```python\n# Guided sampling follows, at each noise level, the score of p_t(x_t)·p_t(y | x_t)^w: the push away\n# "
    "from the other classes carries samples beyond the ring (larger radius) and away from class 0's own\n# centres "
    "(larger spread), so they do not follow p(x0 | y), though nearly all are clearly class 0.\nprediction = "
    "{'radius': 'larger', 'spread': 'larger', 'follows_conditional': False}\n```":
        "```python\n# 引导采样在每个噪声水平上跟随 p_t(x_t)·p_t(y | x_t)^w 的得分：远离其他类别的推力\n"
        "# 把样本带到圆环之外（半径变大），也远离类别 0 自己的各中心（离散程度变大），\n"
        "# 所以它们并不服从 p(x0 | y)，尽管几乎所有样本都明显属于类别 0。\n"
        "prediction = {'radius': 'larger', 'spread': 'larger', 'follows_conditional': False}\n```",
    "Each ε is a scaled score: ε(x_t, c) = −√(1−ᾱ_t) ∇ log p_t(x_t | c), and ε_∅ = −√(1−ᾱ_t) ∇ log p_t(x_t). Write "
    "the combination as −√(1−ᾱ_t) times one sum of scores.":
        "每个 ε 都是缩放后的得分：ε(x_t, c) = −√(1−ᾱ_t) ∇ log p_t(x_t | c)，而 ε_∅ = −√(1−ᾱ_t) ∇ log "
        "p_t(x_t)。把这个组合写成 −√(1−ᾱ_t) 乘以一个得分之和。",
    "Bayes' rule: ∇ log p_t(x_t | c) = ∇ log p_t(x_t) + ∇ log p_t(c | x_t). In the difference ε_y − ε_{y⁻} the ∇ log "
    "p_t(x_t) terms cancel; what is left involves only the two class posteriors.":
        "贝叶斯公式：∇ log p_t(x_t | c) = ∇ log p_t(x_t) + ∇ log p_t(c | x_t)。在差 ε_y − ε_{y⁻} 中，∇ log p_t(x_t) "
        "项相互抵消；剩下的只涉及两个类别的后验分布。",
    "A sum of gradients of logs is the gradient of the log of a product. Which factors does your sum of scores make, "
    "and with which powers? Then write the log of that product with the arrays you are given (one column of log_post "
    "per class); a constant does not matter.":
        "对数梯度之和就是乘积的对数的梯度。你的得分之和对应哪些因子、各自是几次方？然后用给你的数组写出这个乘积的对数"
        "（log_post 每个类别一列）；相差一个常数无关紧要。",
    "that is the density of ε_{y⁻} + w (ε_y − ε_{y⁻}), the chapter's negative prompt, which starts from the negative "
    "prompt's ε. This combination starts from ε_∅: its first term is the score of p_t(x_t) itself, and the negative "
    "prompt appears only inside the difference.":
        "这是 ε_{y⁻} + w (ε_y − ε_{y⁻}) 的密度，即本章的负向提示词，它从负向提示词的 ε 出发。而这个组合从 ε_∅ "
        "出发：它的第一项就是 p_t(x_t) 本身的得分，负向提示词只出现在差里面。",
    "you have the guidance part but not the density it tilts: the ε_∅ in front is the score of p_t(x_t), so log "
    "p_t(x_t) is a term of its own.":
        "你有了引导部分，却没有它所倾斜的那个密度：前面的 ε_∅ 是 p_t(x_t) 的得分，所以 log p_t(x_t) 自成一项。",
    "the negative prompt enters with a minus sign: ε_y − ε_{y⁻} is a difference of scores, so in the density p_t(y⁻ | "
    "x_t) divides.":
        "负向提示词带着负号进入：ε_y − ε_{y⁻} 是得分之差，所以在密度中 p_t(y⁻ | x_t) 是除数。",
    "the power is w, not w − 1: the difference ε_y − ε_{y⁻} is multiplied by w, and ε_∅ adds no class term of its own.":
        "幂次是 w，不是 w − 1：差 ε_y − ε_{y⁻} 乘的是 w，而 ε_∅ 自己不带任何类别项。",
    "the negative prompt is missing: ε_{y⁻} enters the difference, and by Bayes its score is ∇ log p_t(x_t) + ∇ log "
    "p_t(y⁻ | x_t).":
        "少了负向提示词：ε_{y⁻} 出现在差中，按贝叶斯公式它的得分是 ∇ log p_t(x_t) + ∇ log p_t(y⁻ | x_t)。",
    "the positive prompt is missing: ε_y enters the difference, and by Bayes its score is ∇ log p_t(x_t) + ∇ log "
    "p_t(y | x_t).":
        "少了正向提示词：ε_y 出现在差中，按贝叶斯公式它的得分是 ∇ log p_t(x_t) + ∇ log p_t(y | x_t)。",
    "you returned the density itself; return its log (the check compares logs, up to a constant).":
        "你返回的是密度本身；请返回它的对数（检查比较的是对数，允许相差一个常数）。",
    "log density":
        "对数密度",
    "Return one log density per point, the shape of log_p.":
        "每个点返回一个对数密度，形状与 log_p 相同。",
    "at t = {t} with y = {y}, y⁻ = {neg}, w = {w:g} your log density does not have the score of ε_∅ + w (ε_y − "
    "ε_{{y⁻}}), even up to a constant. Turn each ε into a score, use Bayes' rule for the two conditional ones, then "
    "add up the logs.":
        "在 t = {t}、y = {y}、y⁻ = {neg}、w = {w:g} 时，你的对数密度即使允许相差一个常数，其得分也不是 ε_∅ + w (ε_y − "
        "ε_{{y⁻}})。把每个 ε 换成得分，对两个条件得分使用贝叶斯公式，再把对数加起来。",
    "guided samples (DDIM), w = {w:g}":
        "引导样本（DDIM），w = {w:g}",
    "t = 0: where the samples end":
        "t = 0：样本最终落在哪里",
    "p_t(x)·p_t(y|x)^w: what the guided field follows":
        "p_t(x)·p_t(y|x)^w：引导场跟随的密度",
    "t = {t}: TV distance {tv:.2f}":
        "t = {t}：全变差距离 {tv:.2f}",
    "p(x0)·p(y|x0)^w, noised to t":
        "p(x0)·p(y|x0)^w，加噪到 t",
    "p_t(x | y)":
        "p_t(x | y)",
    "p(x0)·p(y|x0)^w: the sharpened data":
        "p(x0)·p(y|x0)^w：被锐化的数据密度",
    "p(x0 | y)":
        "p(x0 | y)",
    "digit Fréchet distance to real digits (± sd over draws)":
        "与真实数字之间的数字 Fréchet 距离（± 各次抽取的标准差）",
    "x_t":
        "x_t",
    "x0":
        "x0",
    "density":
        "密度",
    "```python\n# The score is ∇ log p_t(x_t) + w (∇ log p_t(y | x_t) − ∇ log p_t(y⁻ | x_t)): the data density, "
    "tilted\n# towards y and away from y⁻ with the same power w. Starting from ε_{y⁻} instead (the chapter's\n# "
    "negative prompt) gives p_t(x_t | y⁻)^{1−w} p_t(x_t | y)^w, a different density.\ndef "
    "reference_negative_prompt_log_density(log_p, log_post, y, negative, w):\n    \"\"\"log of p_t(x_t)·(p_t(y | "
    "x_t) / p_t(y⁻ | x_t))^w, up to a constant: the density whose score\n    ε_∅ + w (ε_y − ε_{y⁻}) is (ε = "
    "−√(1−ᾱ_t) ∇ log; Bayes turns ε_y − ε_{y⁻} into the two posteriors).\"\"\"\n    return log_p + w * "
    "(log_post[:, y] - log_post[:, negative])\n```":
        "```python\n# 得分是 ∇ log p_t(x_t) + w (∇ log p_t(y | x_t) − ∇ log p_t(y⁻ | x_t))：数据密度以同一个幂次 w\n"
        "# 向 y 倾斜、并远离 y⁻。若改为从 ε_{y⁻} 出发（本章的负向提示词），\n"
        "# 得到的是 p_t(x_t | y⁻)^{1−w} p_t(x_t | y)^w，另一个密度。\ndef "
        "reference_negative_prompt_log_density(log_p, log_post, y, negative, w):\n    \"\"\"log of p_t(x_t)·(p_t(y | "
        "x_t) / p_t(y⁻ | x_t))^w, up to a constant: the density whose score\n    ε_∅ + w (ε_y − ε_{y⁻}) is (ε = "
        "−√(1−ᾱ_t) ∇ log; Bayes turns ε_y − ε_{y⁻} into the two posteriors).\"\"\"\n    return log_p + w * "
        "(log_post[:, y] - log_post[:, negative])\n```",

    # ---- views: forward_1d, schedule_comparison, guidance_explorer (figure text, HTML keys) ----
    "<span style='color:{c0}'>━ runs</span> &nbsp; <span style='color:{c1}'>▒ closed form: mean ± 2 std (╌ mean); "
    "one band per bump of a mixture</span> &nbsp; <span style='color:{c3}'>│● x_t at the slider's t</span> &nbsp; "
    "right: <span style='color:{c0}'>▆ histogram of all runs at t</span> vs <span style='color:{c3}'>━ exact "
    "density q(x_t)</span> &nbsp;·&nbsp; horizontal: step t from x0 (at 0) to x_T (at T) &nbsp;·&nbsp; vertical: "
    "the value x_t &nbsp;·&nbsp; title: mean and std of x_t over all runs / exact":
        "<span style='color:{c0}'>━ 各次运行</span> &nbsp; <span style='color:{c1}'>▒ 闭式解：均值 ± 2 倍标准差（╌ "
        "均值）；混合分布的每个峰各一条带</span> &nbsp; <span style='color:{c3}'>│● 滑块所在 t 处的 x_t</span> "
        "&nbsp; 右图：<span style='color:{c0}'>▆ 所有运行在 t 处的直方图</span> 对比 <span style='color:{c3}'>━ "
        "精确密度 q(x_t)</span> &nbsp;·&nbsp; 横轴：步数 t，从 x0（0 处）到 x_T（T 处） &nbsp;·&nbsp; 纵轴：x_t "
        "的值 &nbsp;·&nbsp; 标题：所有运行中 x_t 的均值和标准差 / 精确值",
    "t = {t}  ᾱ = {abar:.3f}  mean {emp_mean:.2f}/{mean:.2f}  std {emp_std:.2f}/{std:.2f}":
        "t = {t}  ᾱ = {abar:.3f}  均值 {emp_mean:.2f}/{mean:.2f}  标准差 {emp_std:.2f}/{std:.2f}",
    "step t  (x0 at t = 0)":
        "步数 t（x0 在 t = 0）",
    "value x_t":
        "x_t 的值",
    "step t  (x0 at t = 0, x_T at t = T)":
        "步数 t（x0 在 t = 0，x_T 在 t = T）",
    "histogram of all x_t at the marker":
        "标记处所有 x_t 的直方图",
    "exact density q(x_t)":
        "精确密度 q(x_t)",
    "trajectories":
        "轨迹",
    "closed-form mean √ᾱ_t·μ_k":
        "闭式解的均值 √ᾱ_t·μ_k",
    "closed-form mean √ᾱ_t·x0":
        "闭式解的均值 √ᾱ_t·x0",
    "closed form: each bump's mean ± {k:g} std":
        "闭式解：每个峰的均值 ± {k:g} 倍标准差",
    "closed form: mean ± {k:g} std":
        "闭式解：均值 ± {k:g} 倍标准差",
    "| schedule | diffusers name | β_1 | β_T | first t with ᾱ_t < 0.5 | (fraction of T) | ᾱ_T | √ᾱ_T |":
        "| 调度 | diffusers 中的名称 | β_1 | β_T | 第一个满足 ᾱ_t < 0.5 的 t | （占 T 的比例） | ᾱ_T | √ᾱ_T |",
    "step t (1 … T)":
        "步数 t（1 … T）",
    "t = {t}: ᾱ_t = {abar:.3f} ({schedule})":
        "t = {t}：ᾱ_t = {abar:.3f}（{schedule}）",
    "guidance scale w":
        "引导强度 w",
    "fraction / ratio":
        "比例 / 倍数",
    "digit Fréchet distance d² (± sd over draws)":
        "数字 Fréchet 距离 d²（± 各次抽取的标准差）",
    "w = {w:g}: {precision:.0f} % in class {y}, spread {spread:.2f} of the data's":
        "w = {w:g}：{precision:.0f} % 属于类别 {y}，离散程度为数据的 {spread:.2f} 倍",
    "intended class y":
        "目标类别 y",
    "seed (same noise for every w)":
        "随机种子（各个 w 用同一份噪声）",
    "precision: fraction in class y":
        "精确率：落在类别 y 中的比例",
    "spread around the class's modes (× data's)":
        "围绕该类各峰的离散程度（× 数据的）",
    "w = 1: the conditional model":
        "w = 1：条件模型",
    "accuracy on the intended class":
        "目标类别的准确率",
    "classifier confidence p(y | x)":
        "分类器置信度 p(y | x)",
    "within-class diversity (× real)":
        "类内多样性（× 真实数据）",
    "digit Fréchet distance to real digits":
        "生成数字到真实数字的 Fréchet 距离",
    "sample (maps at t = {t})":
        "样本（注意力图取自 t = {t}）",
    "attention weight on the label token":
        "对标签 token 的注意力权重",
    "guided field at t = {t}":
        "t = {t} 时引导后的向量场",
    "real vs other real digits":
        "真实数字与另一组真实数字之间",
    "image {b}":
        "图像 {b}",
    "left: <span style='color:#999'>● data, coloured by class</span> &nbsp; <b>●</b> guided samples aimed at class "
    "y, coloured by the class the exact Bayes classifier gives them &nbsp;·&nbsp; right: arrows −ε̃, the direction "
    "the guided score pushes x_t (lengths ∝ √|ε̃|) &nbsp; <span style='color:#0072B2'>━</span> p_t(x_t | y): 1σ, 2σ "
    "levels":
        "左图：<span style='color:#999'>● 数据，按类别着色</span> &nbsp; <b>●</b> 以类别 y 为目标的引导样本，"
        "按精确贝叶斯分类器给出的类别着色 &nbsp;·&nbsp; 右图：箭头 −ε̃，即引导后的得分函数推动 x_t 的方向（长度 ∝ "
        "√|ε̃|） &nbsp; <span style='color:#0072B2'>━</span> p_t(x_t | y)：1σ、2σ 等高线",
    "$\\beta_t$ (log scale)":
        "$\\beta_t$（对数坐标）",
    "$\\bar\\alpha_t$":
        "$\\bar\\alpha_t$",
    "log-SNR $= \\log\\,\\bar\\alpha_t/(1-\\bar\\alpha_t)$":
        "对数信噪比 $= \\log\\,\\bar\\alpha_t/(1-\\bar\\alpha_t)$",
    "value":
        "数值",
    "sample":
        "样本",
    "exact guidance on the labelled ring":
        "带标签圆环上的精确引导",

    # ---- warnings (diffusion_lab/schedules.py: ScheduleWarning) ----
    "{name} schedule with T = {T} leaves ᾱ_T = {abar:.3g}: x_T still holds {scale:.0%} of x0's scale, so it is not "
    "close to N(0, I). Use more steps (T = 1000) or larger β_end.":
        "T = {T} 的 {name} 调度最后留下 ᾱ_T = {abar:.3g}：x_T 仍保留着 x0 尺度的 {scale:.0%}，离 N(0, I) 还差得远。"
        "请用更多的步数（T = 1000）或更大的 β_end。",

    # ---- argument checks (diffusion_lab/validation.py: check_timestep) ----
    "{name} = {value} is outside [0, {T}): {name} is a code index, and code indices run "
    "0..{last} (the maths' t = 1..{T}); for the maths' t pass t − 1 (the last step, t = {T}, "
    "is code index {last}).":
        "{name} = {value} 超出了 [0, {T})：{name} 是代码索引，代码索引取 0..{last}（对应数学中的 t = 1..{T}）；"
        "若你手里是数学中的 t，请传入 t − 1（最后一步 t = {T} 的代码索引是 {last}）。",
    "{name} has values in [{lo}, {hi}], outside [0, {T}): {name} holds code indices, which run "
    "0..{last} (the maths' t = 1..{T}); for the maths' t pass t − 1.":
        "{name} 的取值范围是 [{lo}, {hi}]，超出了 [0, {T})：{name} 存放的是代码索引，取 0..{last}"
        "（对应数学中的 t = 1..{T}）；若你手里是数学中的 t，请传入 t − 1。",

    # ---- exercises, chapter 1 (diffusion_lab/exercises/ch1.py) ----
    "the signal is multiplied by ᾱ_t, but it must be √ᾱ_t (a widely copied template makes exactly this mistake). "
    "Variances add: Var(√ᾱ_t x0) + Var(√(1−ᾱ_t) ε) = ᾱ_t + (1 − ᾱ_t) = 1 for unit-variance data; with ᾱ_t in front "
    "the signal shrinks far too fast.":
        "信号被乘上了 ᾱ_t，但应当是 √ᾱ_t（一份流传很广的模板恰好犯了这个错误）。方差相加：Var(√ᾱ_t x0) + "
        "Var(√(1−ᾱ_t) ε) = ᾱ_t + (1 − ᾱ_t) = 1（对单位方差的数据）；前面乘 ᾱ_t 的话，信号会衰减得太快。",
    "the noise is multiplied by (1 − ᾱ_t), but 1 − ᾱ_t is its VARIANCE: the factor in front of ε is the standard "
    "deviation √(1 − ᾱ_t).":
        "噪声被乘上了 (1 − ᾱ_t)，但 1 − ᾱ_t 是它的方差：ε 前面的系数是标准差 √(1 − ᾱ_t)。",
    "you used ᾱ_t and 1 − ᾱ_t directly, but those are variances. The factors in front of x0 and ε are their square "
    "roots: √ᾱ_t and √(1 − ᾱ_t).":
        "你直接用了 ᾱ_t 和 1 − ᾱ_t，但它们是方差。x0 和 ε 前面的系数是它们的平方根：√ᾱ_t 和 √(1 − ᾱ_t)。",
    "off by one: you used alphas_cumprod[k + 1], which holds ᾱ_{t+1}. The index k you are given is already t − 1, "
    "so alphas_cumprod[k] (that is alphas_cumprod[t - 1]) holds ᾱ_t: use it as it is.":
        "差了一步：你用的是 alphas_cumprod[k + 1]，它存的是 ᾱ_{t+1}。传给你的索引 k 已经是 t − 1，所以 "
        "alphas_cumprod[k]（即 alphas_cumprod[t - 1]）存的就是 ᾱ_t：直接用它。",
    "off by one: you used alphas_cumprod[k - 1], which holds ᾱ_{t−1}, one step short. x_t has had the steps 1..t "
    "applied, and their product ᾱ_t sits at alphas_cumprod[t - 1], which is alphas_cumprod[k] for the index k = t − "
    "1 you are given: use k as it is.":
        "差了一步：你用的是 alphas_cumprod[k - 1]，它存的是 ᾱ_{t−1}，少了一步。x_t 已经经历了第 1..t 步，它们的乘积 "
        "ᾱ_t 位于 alphas_cumprod[t - 1]，对于传给你的索引 k = t − 1，就是 alphas_cumprod[k]：直接用 k。",
    "the two factors are swapped: √ᾱ_t belongs to x0 (the signal fades as ᾱ_t falls) and √(1 − ᾱ_t) to ε (the noise "
    "grows).":
        "两个系数对调了：√ᾱ_t 属于 x0（信号随 ᾱ_t 下降而减弱），√(1 − ᾱ_t) 属于 ε（噪声逐渐增大）。",
    "you returned only the scaled signal √ᾱ_t x0; add the noise term √(1 − ᾱ_t) ε.":
        "你只返回了缩放后的信号 √ᾱ_t x0；还要加上噪声项 √(1 − ᾱ_t) ε。",
    "you raised each α_t = 1 − β_t to a power, (1 − β_t)^t, as if β were the same at every step. That is the "
    "0.998¹⁰⁰ ≈ 0.819 mistake: β changes with t, so ᾱ_t is the product of DIFFERENT factors (1 − β_1)(1 − β_2)⋯(1 − "
    "β_t): use torch.cumprod.":
        "你把每个 α_t = 1 − β_t 取了幂，(1 − β_t)^t，仿佛每一步的 β 都相同。这就是 0.998¹⁰⁰ ≈ 0.819 那个错误：β 随 "
        "t 变化，所以 ᾱ_t 是一串不同因子的乘积 (1 − β_1)(1 − β_2)⋯(1 − β_t)：请用 torch.cumprod。",
    "off by one: your ᾱ_t leaves out step t's own factor (you returned ᾱ_{t−1}, starting at ᾱ_0 = 1). x_t has had "
    "the steps 1..t applied, so the first entry (index 0), ᾱ_1, is already 1 − β_1.":
        "差了一步：你的 ᾱ_t 漏掉了第 t 步自己的因子（你返回的是 ᾱ_{t−1}，从 ᾱ_0 = 1 开始）。x_t 已经经历了第 1..t "
        "步，所以第一个元素（索引 0）ᾱ_1 就已经是 1 − β_1。",
    "off by one: your ᾱ_t includes the factor of step t + 1 as well.":
        "差了一步：你的 ᾱ_t 把第 t + 1 步的因子也乘进去了。",
    "you multiplied the β_t. ᾱ_t is the running product of α_t = 1 − β_t, the share of the signal's variance each "
    "step keeps.":
        "你把 β_t 连乘了。ᾱ_t 是 α_t = 1 − β_t 的累积乘积，α_t 是每一步保留下来的信号方差份额。",
    "1 − Σβ_s is only the first-order approximation of the product (good while Σβ is tiny, wrong later, and it even "
    "goes negative). Multiply the factors: cumprod.":
        "1 − Σβ_s 只是该乘积的一阶近似（Σβ 很小时还行，之后就错了，甚至会变成负数）。请把各因子相乘：cumprod。",
    "exp(−Σβ_s) is an approximation (log(1 − β) ≈ −β for small β); multiply the exact factors 1 − β_s instead.":
        "exp(−Σβ_s) 是一个近似（β 很小时 log(1 − β) ≈ −β）；请改为把精确的因子 1 − β_s 相乘。",
    "you returned √ᾱ_t (the product of √α_s). The exercise asks for ᾱ_t itself.":
        "你返回的是 √ᾱ_t（√α_s 的乘积）。题目要的是 ᾱ_t 本身。",
    "you returned α_t = 1 − β_t; ᾱ_t is their running product up to and including t.":
        "你返回的是 α_t = 1 − β_t；ᾱ_t 是它们直到 t（含 t）的累积乘积。",
    "0.998¹⁰⁰ ≈ 0.819 treats β as if it were β_100 = 0.002 at EVERY step (the widely quoted answer). But β_s = "
    "0.02·s/1000 grows from 0.00002: the earlier factors are much closer to 1. Multiply the 100 different factors "
    "(1 − β_1)(1 − β_2)⋯(1 − β_100).":
        "0.998¹⁰⁰ ≈ 0.819 相当于把每一步的 β 都当成 β_100 = 0.002（这是流传很广的答案）。但 β_s = 0.02·s/1000 是从 "
        "0.00002 开始增长的：前面的因子都更接近 1。请把 100 个不同的因子 (1 − β_1)(1 − β_2)⋯(1 − β_100) 相乘。",
    "off by one: you multiplied 99 factors (s = 1..99, or s = 0..99 with β_0 = 0). ᾱ_100 has 100 factors, s = "
    "1..100.":
        "差了一步：你乘了 99 个因子（s = 1..99，或 s = 0..99 且 β_0 = 0）。ᾱ_100 有 100 个因子，s = 1..100。",
    "off by one: you multiplied 101 factors; ᾱ_100 has s = 1..100.":
        "差了一步：你乘了 101 个因子；ᾱ_100 对应 s = 1..100。",
    "that is α_100 = 1 − β_100 alone, one factor; ᾱ_100 is the product of all 100.":
        "那只是 α_100 = 1 − β_100 这一个因子；ᾱ_100 是全部 100 个因子的乘积。",
    "1 − Σβ_s is the first-order approximation; multiply the factors instead (the difference is small here but not "
    "within 5e-4).":
        "1 − Σβ_s 是一阶近似；请改为把各因子相乘（这里差别不大，但超出了 5e-4）。",
    "ᾱ_100":
        "ᾱ_100",
    "the two coefficients are swapped. β_t √ᾱ_{t−1}/(1−ᾱ_t) multiplies x0 and (1−ᾱ_{t−1}) √α_t/(1−ᾱ_t) multiplies "
    "x_t. Check at the last reverse step (t = 1, code index k = 0): there 1 − ᾱ_0 = 0, so the mean must be exactly "
    "x0.":
        "两个系数对调了。β_t √ᾱ_{t−1}/(1−ᾱ_t) 乘的是 x0，(1−ᾱ_{t−1}) √α_t/(1−ᾱ_t) 乘的是 x_t。"
        "用反向过程的最后一步（t = 1，代码索引 k = 0）检验：此时 1 − ᾱ_0 = 0，所以均值必须恰好是 x0。",
    "at k = 0 (step t = 1) you used alphas_cumprod[k - 1] = alphas_cumprod[-1], which Python reads as the LAST "
    "entry. Before the first step nothing has been multiplied: ᾱ_0 = 1.":
        "在 k = 0（第 t = 1 步）时你用了 alphas_cumprod[k - 1] = alphas_cumprod[-1]，Python 会把它读成最后一个元素。"
        "第一步之前还什么都没乘：ᾱ_0 = 1。",
    "you used ᾱ_t where ᾱ_{t−1} belongs (in √ᾱ_{t−1} and 1 − ᾱ_{t−1}). The posterior looks one step back, so it "
    "needs the product up to the PREVIOUS step.":
        "你在该用 ᾱ_{t−1} 的地方（√ᾱ_{t−1} 和 1 − ᾱ_{t−1} 中）用了 ᾱ_t。后验分布是往回看一步，"
        "所以它需要的是到前一步为止的乘积。",
    "the x_t coefficient needs √α_t, not α_t.":
        "x_t 的系数中应为 √α_t，而不是 α_t。",
    "the x0 coefficient needs √ᾱ_{t−1}, not ᾱ_{t−1}.":
        "x0 的系数中应为 √ᾱ_{t−1}，而不是 ᾱ_{t−1}。",
    "the x_t coefficient has √α_t (one step: α_t = 1 − β_t), not √ᾱ_t.":
        "x_t 的系数中是 √α_t（只有一步：α_t = 1 − β_t），而不是 √ᾱ_t。",
    "both coefficients are divided by 1 − ᾱ_t; you left that out.":
        "两个系数都要除以 1 − ᾱ_t；你漏掉了这一步。",
    "your ᾱ":
        "你的 ᾱ",
    "your x_t":
        "你的 x_t",
    "Index the schedule at the single index k, so the result has x0's shape.":
        "用单个索引 k 去索引调度，这样结果才与 x0 形状相同。",
    "{got:.4f} is not ᾱ_100 (need it within {accuracy}). Build β_s = 0.02·s/1000 for s = 1..100 and multiply the "
    "factors (1 − β_s).":
        "{got:.4f} 不是 ᾱ_100（误差需在 {accuracy} 以内）。对 s = 1..100 构造 β_s = 0.02·s/1000，再把各因子 (1 − "
        "β_s) 相乘。",
    "your μ̃":
        "你的 μ̃",
    "for T = {T} your ᾱ differs from the running product of (1 − β) by up to {max_abs_diff:.3g}.":
        "当 T = {T} 时，你的 ᾱ 与 (1 − β) 的累积乘积最多相差 {max_abs_diff:.3g}。",
    "for step t = {t} (T = {T}; code index k = {k}) your x_t differs from √ᾱ_t·x0 + √(1−ᾱ_t)·ε by up to "
    "{max_abs_diff:.3g}. Check each factor, and that you read ᾱ_t as alphas_cumprod[k].":
        "在第 t = {t} 步（T = {T}；代码索引 k = {k}），你的 x_t 与 √ᾱ_t·x0 + √(1−ᾱ_t)·ε 最多相差 "
        "{max_abs_diff:.3g}。逐个检查系数，并确认 ᾱ_t 读的是 alphas_cumprod[k]。",
    "for step t = {t} (T = {T}; code index k = {k}) your μ̃ differs from the posterior mean by up to "
    "{max_abs_diff:.3g}. Check the two coefficients and remember ᾱ_0 = 1 at k = 0 (step t = 1).":
        "在第 t = {t} 步（T = {T}；代码索引 k = {k}），你的 μ̃ 与后验均值最多相差 {max_abs_diff:.3g}。检查两个系数，"
        "并记住 k = 0（第 t = 1 步）时 ᾱ_0 = 1。",
    "Exercise 1.1 — closed-form noising":
        "练习 1.1 —— 闭式加噪",
    "x_t mixes the clean x0 and the noise ε with two factors that depend only on ᾱ_t = alphas_cumprod[k]. Which "
    "pair of factors keeps the total variance at 1 for unit-variance data?":
        "x_t 用两个只依赖 ᾱ_t = alphas_cumprod[k] 的系数把干净的 x0 和噪声 ε 混合起来。"
        "哪一对系数能让单位方差数据的总方差保持为 1？",
    "ᾱ_t and 1 − ᾱ_t are the VARIANCES of the two parts; the factors in front of x0 and ε are their standard "
    "deviations, √ᾱ_t and √(1 − ᾱ_t). The index k you are given is already t − 1: no +1 or −1.":
        "ᾱ_t 和 1 − ᾱ_t 是两部分的方差；x0 和 ε 前面的系数是它们的标准差 √ᾱ_t 和 √(1 − ᾱ_t)。传给你的索引 k 已经是 "
        "t − 1：不要再 +1 或 −1。",
    "Exercise 1.2 — ᾱ_t from β_t":
        "练习 1.2 —— 由 β_t 求 ᾱ_t",
    "α_t = 1 − β_t is the share of the variance that step t keeps. ᾱ_t collects the shares of all the steps 1..t: "
    "how do shares of shares combine?":
        "α_t = 1 − β_t 是第 t 步保留下来的方差份额。ᾱ_t 汇总了第 1..t 步的所有份额：份额的份额该如何组合？",
    "β changes from step to step, so ᾱ_t is a product of DIFFERENT factors (1 − β_1)(1 − β_2)⋯(1 − β_t), not a "
    "power of one number, and the factor of step t itself is included.":
        "β 每一步都在变，所以 ᾱ_t 是一串不同因子的乘积 (1 − β_1)(1 − β_2)⋯(1 − β_t)，而不是某一个数的幂，并且包含第 "
        "t 步自己的因子。",
    "Exercise 1.3 — the number ᾱ_100":
        "练习 1.3 —— ᾱ_100 这个数",
    "β_s = 0.02·s/T grows with s, so the 100 factors (1 − β_s) are all different: ᾱ_100 is not a power of one "
    "number.":
        "β_s = 0.02·s/T 随 s 增大，所以 100 个因子 (1 − β_s) 各不相同：ᾱ_100 不是某一个数的幂。",
    "```python\ns = torch.arange(1, 101, dtype=torch.float64)   # steps 1..100 = code indices 0..99\nabar_100 = "
    "float(torch.prod(1 - 0.02 * s / 1000))  # ≈ 0.9039, not 0.998**100 ≈ 0.819\n```":
        "```python\ns = torch.arange(1, 101, dtype=torch.float64)   # 第 1..100 步 = 代码索引 0..99\nabar_100 = "
        "float(torch.prod(1 - 0.02 * s / 1000))  # ≈ 0.9039，而不是 0.998**100 ≈ 0.819\n```",
    "Exercise 1.4 — the posterior mean μ̃_t(x0, x_t)":
        "练习 1.4 —— 后验均值 μ̃_t(x0, x_t)",
    "The weight of x0 is β_t·√ᾱ_{t−1}/(1−ᾱ_t), the weight of x_t is (1−ᾱ_{t−1})·√α_t/(1−ᾱ_t). With k = t − 1 the "
    "code index: β_t is betas[k], ᾱ_t is abar[k], and ᾱ_{t−1} is abar[k − 1] for k > 0 and ᾱ_0 = 1 at k = 0 "
    "(careful: abar[−1] is the LAST entry in Python).":
        "x0 的权重是 β_t·√ᾱ_{t−1}/(1−ᾱ_t)，x_t 的权重是 (1−ᾱ_{t−1})·√α_t/(1−ᾱ_t)。以 k = t − 1 为代码索引：β_t 是 "
        "betas[k]，ᾱ_t 是 abar[k]；k > 0 时 ᾱ_{t−1} 是 abar[k − 1]，k = 0 时 ᾱ_0 = 1（注意：在 Python 中 abar[−1] "
        "是最后一个元素）。",

    # ---- exercises, chapter 7 (diffusion_lab/exercises/ch7.py) ----
    "the step goes the wrong way: σ falls from σ_t to σ_s, so the step is (σ_s − σ_t)·ε̂, a negative multiple of ε̂ "
    "— sampling removes noise.":
        "步长方向反了：σ 从 σ_t 降到 σ_s，所以这一步是 (σ_s − σ_t)·ε̂，是 ε̂ 的负数倍——采样是在去除噪声。",
    "you returned x̂0 = x̃_t − σ_t·ε̂, a jump all the way to σ = 0. Go only down to σ_s: add σ_s·ε̂ back.":
        "你返回的是 x̂0 = x̃_t − σ_t·ε̂，一下子跳到了 σ = 0。只需降到 σ_s：再把 σ_s·ε̂ 加回去。",
    "the step uses variances σ² instead of the noise levels σ: dx̃/dσ = ε̂, so the step is (σ_s − σ_t)·ε̂.":
        "这一步用了方差 σ² 而不是噪声水平 σ：dx̃/dσ = ε̂，所以这一步是 (σ_s − σ_t)·ε̂。",
    "you subtracted σ_s·ε̂: x̂0 is x̃_t − σ_t·ε̂ (the current level), and the step adds σ_s·ε̂ back.":
        "你减去了 σ_s·ε̂：x̂0 是 x̃_t − σ_t·ε̂（当前的噪声水平），这一步要把 σ_s·ε̂ 加回去。",
    "you returned the Euler trial step: Heun evaluates the slope again at the trial point and redoes the step from "
    "x̃_t with the average ½(ε̂_start + ε̂_end).":
        "你返回的是 Euler 试探步：Heun 方法会在试探点再求一次斜率，然后用平均斜率 ½(ε̂_start + ε̂_end) 从 x̃_t "
        "重新走这一步。",
    "you used the slope at the end alone: Heun averages both, ½(ε̂(x̃_t, σ_t) + ε̂(x̃', σ_s)).":
        "你只用了终点处的斜率：Heun 方法取两者的平均，½(ε̂(x̃_t, σ_t) + ε̂(x̃', σ_s))。",
    "the two slopes are added, not averaged: the step is (σ_s − σ_t)·½(ε̂_start + ε̂_end).":
        "两个斜率被加起来了，而不是取平均：这一步是 (σ_s − σ_t)·½(ε̂_start + ε̂_end)。",
    "the corrected step starts from the trial point x̃'; it must start again from x̃_t: x̃_s = x̃_t + (σ_s − "
    "σ_t)·½(ε̂_start + ε̂_end).":
        "修正步是从试探点 x̃' 出发的；它必须重新从 x̃_t 出发：x̃_s = x̃_t + (σ_s − σ_t)·½(ε̂_start + ε̂_end)。",
    "the second slope is taken at x̃_t; Heun takes it at the END of the trial step, ε̂(x̃', σ_s) with x̃' = x̃_t + "
    "(σ_s − σ_t)·ε̂(x̃_t, σ_t).":
        "第二个斜率是在 x̃_t 处取的；Heun 方法在试探步的终点取它，即 ε̂(x̃', σ_s)，其中 x̃' = x̃_t + (σ_s − "
        "σ_t)·ε̂(x̃_t, σ_t)。",
    "the sign: the error FALLS as N grows, so the slope of log error against log N is negative; the order p is "
    "minus that slope (a positive number: 1 for Euler, 2 for Heun).":
        "符号错了：误差随 N 增大而下降，所以 log 误差对 log N 的斜率是负的；收敛阶 p 是这个斜率的相反数（一个正数："
        "Euler 为 1，Heun 为 2）。",
    "two different logarithms: log10 on one axis and the natural log on the other scale the slope by ln 10 ≈ 2.3. "
    "Use the same logarithm for both.":
        "用了两种不同的对数：一个轴用 log10、另一个轴用自然对数，会让斜率差一个因子 ln 10 ≈ 2.3。"
        "两个轴请用同一种对数。",
    "the axes are swapped: fit log error (y) against log N (x), so that the slope is −p (you got about 1/p).":
        "坐标轴对调了：应以 log 误差（y）对 log N（x）拟合，这样斜率才是 −p（你得到的大约是 1/p）。",
    "you used only the first and last points. Single runs scatter; a least-squares line through ALL the points "
    "(log N, log error) averages that out.":
        "你只用了第一个和最后一个点。单次运行的结果有波动；用穿过所有点 (log N, log 误差) 的最小二乘直线可以把波动"
        "平均掉。",
    "you fitted a straight line to the raw numbers. A power law error ≈ C·N^(−p) is a straight line only on log-log "
    "axes: take the logarithm of both N and the error first.":
        "你对原始数值拟合了直线。幂律 误差 ≈ C·N^(−p) 只有在双对数坐标下才是直线：先对 N 和误差都取对数。",
    "x̃_s":
        "x̃_s",
    "One step keeps x̃'s shape.":
        "一步之后仍保持 x̃ 的形状。",
    "the order p":
        "收敛阶 p",
    "an exact power law 3·N^(−2)":
        "精确的幂律 3·N^(−2)",
    "measured errors that scatter around 0.4·N^(−1)":
        "在 0.4·N^(−1) 附近波动的实测误差",
    "from σ_t = {sigma_t:.4g} (t = {t}) to σ_s = {sigma_s:.4g} (s = {s}): √ᾱ_s times your x̃_s differs from the "
    "package's DDIM step by up to {max_abs_diff:.3g}.":
        "从 σ_t = {sigma_t:.4g}（t = {t}）到 σ_s = {sigma_s:.4g}（s = {s}）：√ᾱ_s 乘以你的 x̃_s，与程序包的 DDIM "
        "一步最多相差 {max_abs_diff:.3g}。",
    "your heun_step called eps_fn at σ = 0. There is no network at σ = 0 (x̃ is then x0 itself): when sigma_s == 0, "
    "return the Euler step without a second call.":
        "你的 heun_step 在 σ = 0 处调用了 eps_fn。σ = 0 处没有网络（此时 x̃ 就是 x0 本身）：sigma_s == 0 时，"
        "直接返回 Euler 步，不要第二次调用。",
    "at σ_t and at the end of the trial step (σ_s).":
        "在 σ_t 处和试探步的终点（σ_s）处。",
    "only at σ_t (no network at σ = 0).":
        "只在 σ_t 处（σ = 0 处没有网络）。",
    "from σ_t = {sigma_t} to σ_s = {sigma_s} your heun_step called eps_fn {calls} time(s) at σ = {sigmas}; Heun "
    "needs {expected}: {where}":
        "从 σ_t = {sigma_t} 到 σ_s = {sigma_s}，你的 heun_step 在 σ = {sigmas} 处调用了 eps_fn {calls} 次；Heun "
        "方法需要 {expected} 次：{where}",
    "from σ_t = {sigma_t} to σ_s = {sigma_s} your x̃_s differs from Heun's by up to {max_abs_diff:.3g}.":
        "从 σ_t = {sigma_t} 到 σ_s = {sigma_s}，你的 x̃_s 与 Heun 方法的结果最多相差 {max_abs_diff:.3g}。",
    "for {what} (N = {n}) the least-squares order is {want:.3f}, you got {got:.3f}.":
        "对于{what}（N = {n}），最小二乘给出的收敛阶是 {want:.3f}，你的结果是 {got:.3f}。",
    "Exercise 7.1 — an Euler step in σ (= DDIM)":
        "练习 7.1 —— 在 σ 上走一步 Euler（= DDIM）",
    "Euler's method: new value = old value + step × slope at the start. Which variable takes the step here, from "
    "which value to which, and what does the ODE say the slope is?":
        "Euler 方法：新值 = 旧值 + 步长 × 起点处的斜率。这里是哪个变量在走这一步？从哪个值走到哪个值？常微分方程"
        "说斜率是什么？",
    "The variable is σ, from σ_t down to σ_s: the step is negative (sampling removes noise). The slope dx̃/dσ is ε̂, "
    "the same all along an Euler step. Once it passes, regroup your answer around x̂0 (the prediction of the data "
    "at σ_t): which chapter 5 step does it become?":
        "变量是 σ，从 σ_t 降到 σ_s：这一步是负的（采样是在去除噪声）。斜率 dx̃/dσ 是 ε̂，在一步 Euler 中保持不变。"
        "通过检查之后，把你的答案围绕 x̂0（在 σ_t 处对数据的预测）重新整理一下：它变成了第 5 章的哪一种步？",
    "Exercise 7.2 — Heun's correction":
        "练习 7.2 —— Heun 修正",
    "First an Euler step to σ_s as a trial. Then ask eps_fn for the slope at that trial point, and redo the step "
    "from the start with the average of the two slopes.":
        "先走一步 Euler 到 σ_s 作为试探。再向 eps_fn 要试探点处的斜率，用两个斜率的平均值从起点重新走这一步。",
    "Count the calls: two when σ_s > 0 (the slope at x̃_t, σ_t and the slope at the end of the trial step, at σ_s); "
    "one when σ_s = 0, where there is no network — then the trial step itself is the answer. The redone step "
    "starts again from x̃_t, not from the trial point.":
        "数一数调用次数：σ_s > 0 时两次（x̃_t、σ_t 处的斜率，以及试探步终点 σ_s 处的斜率）；σ_s = 0 时一次，因为那里"
        "没有网络——这时试探步本身就是答案。重新走的那一步要从 x̃_t 出发，而不是从试探点出发。",
    "Exercise 7.5 — a convergence order from measured errors":
        "练习 7.5 —— 由实测误差求收敛阶",
    "error ≈ C·N^(−p) becomes a straight line after taking logarithms: log error = log C − p·log N. Fit that line "
    "through all your points.":
        "误差 ≈ C·N^(−p) 取对数后变成一条直线：log 误差 = log C − p·log N。用你的所有点拟合这条直线。",
    "Any least-squares straight-line fit gives a slope and an intercept. Decide which quantity goes on which axis, "
    "use the same logarithm for both, and work out how the slope you get is related to p.":
        "任何最小二乘直线拟合都会给出斜率和截距。想清楚哪个量放在哪条轴上，两者用同一种对数，再推出你得到的斜率与 p "
        "是什么关系。",
    "your answer uses the package's own {name}, which computes exactly what this exercise asks for, so passing would "
    "show nothing. Build it yourself from what the chapter says, without {name}.":
        "你的答案用了本包自带的 {name}，它算的正是这道练习要你算的东西，这样通过检查说明不了什么。请根据本章的内容"
        "自己构造，不要用 {name}。",
    "the last step, to σ_s = 0, failed ({error}). At σ_s = 0, λ_s = −log σ_s is infinite, so no line in λ can be "
    "read there; the exact update has σ_s/σ_t = 0, so the step lands on x̂0_t. Treat σ_s = 0 before taking any "
    "logarithm.":
        "最后一步（到 σ_s = 0）失败了（{error}）。在 σ_s = 0 处，λ_s = −log σ_s 是无穷大，所以那里无法读取 λ 上的"
        "直线；精确更新式中 σ_s/σ_t = 0，于是这一步正好落在 x̂0_t 上。请在取任何对数之前先处理 σ_s = 0 的情形。",

    "Exercise 7.3 — one DPM-Solver++(2M) step":
        "练习 7.3 —— DPM-Solver++(2M) 的一步",
    "you used x̂0_t alone on every step: that is the Euler/DDIM step, exact only when x̂0 does not change. "
    "DPM++(2M) replaces x̂0_t by D, the line through the last two x̂0, from the second step on.":
        "你在每一步都只用了 x̂0_t：这是 Euler/DDIM 的一步，只有 x̂0 不变时才精确。DPM++(2M) 从第二步起把 x̂0_t "
        "换成 D，即过最近两个 x̂0 的直线给出的值。",
    "you read the line at the END of the step (λ_s). DPM++(2M) reads it at the middle, λ_t + h/2: the step averages "
    "x̂0 over the whole interval.":
        "你在这一步的终点（λ_s）读取了直线的值。DPM++(2M) 在中点 λ_t + h/2 处读取：这一步是对整个区间上的 x̂0 "
        "取平均。",
    "your line is straight in σ. DPM++(2M) draws it in λ = −log σ (where the ODE's linear part has a constant "
    "rate): use the λ of σ_prev, σ_t and σ_s, and the middle in λ.":
        "你的直线是在 σ 上画的。DPM++(2M) 在 λ = −log σ 上画它（在这个变量里，常微分方程的线性部分速率恒定）："
        "请用 σ_prev、σ_t、σ_s 对应的 λ，并取 λ 上的中点。",
    "the two step lengths are swapped: the line's slope is (x̂0_t − x̂0_prev)/h_prev (the previous step), and it is "
    "followed for half of THIS step, h/2.":
        "两个步长弄反了：直线的斜率是 (x̂0_t − x̂0_prev)/h_prev（上一步的步长），再沿着它走本步的一半，即 h/2。",
    "you integrated the line exactly (weights e^(λ−λ_s)) — more accurate for a straight x̂0, and a fine sampler, but "
    "not DPM-Solver++(2M), which reads the line at the middle of the step (the two differ by O(h³) per step).":
        "你对这条直线做了精确积分（权重 e^(λ−λ_s)）——对直线形的 x̂0 更准确，也是一个不错的采样器，但它不是 "
        "DPM-Solver++(2M)：后者在这一步的中点读取直线的值（两者每步相差 O(h³)）。",
    "the two weights are swapped: x̃_t keeps the share σ_s/σ_t (its noise shrinks in proportion to σ) and D gets 1 "
    "− σ_s/σ_t.":
        "两个权重弄反了：x̃_t 保留 σ_s/σ_t 的份额（它的噪声按 σ 的比例缩小），D 得到 1 − σ_s/σ_t。",
    "the first step (no previous x̂0)":
        "第一步（还没有上一个 x̂0）",
    "a later step, h ≠ h_prev":
        "后面的一步，h ≠ h_prev",
    "a later step near the data":
        "靠近数据的后面一步",
    "the last step, to σ = 0":
        "最后一步，到 σ = 0",
    "for {what} (σ_t = {sigma_t}, σ_s = {sigma_s}) your x̃_s differs from DPM++(2M)'s by up to {max_abs_diff:.3g}.":
        "对于{what}（σ_t = {sigma_t}，σ_s = {sigma_s}），你的 x̃_s 与 DPM++(2M) 的结果最多相差 {max_abs_diff:.3g}。",
    "Three cases. σ_s = 0: where does the exact update land when σ_s/σ_t = 0? No previous x̂0 (the first step): the "
    "only x̂0 you have stands for the whole step. Otherwise: D comes from a straight line through the points "
    "(λ_prev, x̂0_prev) and (λ_t, x̂0_t), with λ = −log σ.":
        "分三种情况。σ_s = 0：当 σ_s/σ_t = 0 时，精确更新落在哪里？没有上一个 x̂0（第一步）：手头唯一的 x̂0 "
        "就代表整步。其他情况：D 来自过点 (λ_prev, x̂0_prev) 和 (λ_t, x̂0_t) 的直线，其中 λ = −log σ。",
    "Slope of the line = change of x̂0 over change of λ between the previous step and this one. The step runs from "
    "λ_t to λ_s; its middle lies half of that length beyond λ_t, and D is the line's value there. Then x̃_t keeps "
    "the share σ_s/σ_t and D gets the rest.":
        "直线的斜率 = 从上一步到这一步 x̂0 的变化除以 λ 的变化。这一步从 λ_t 走到 λ_s；它的中点在 λ_t 之后半个"
        "步长处，D 就是直线在那里的值。然后 x̃_t 保留 σ_s/σ_t 的份额，其余归 D。",
    "Exercise 7.4 — σ_up and σ_down of Euler ancestral":
        "练习 7.4 —— Euler ancestral 的 σ_up 与 σ_down",
    "σ_down = σ_s − σ_up adds noise LEVELS like numbers. Independent Gaussian noises add in variance: the "
    "deterministic part at level σ_down plus fresh noise σ_up must give σ_down² + σ_up² = σ_s².":
        "σ_down = σ_s − σ_up 把噪声水平当普通数相加了。相互独立的高斯噪声按方差相加：水平为 σ_down 的确定性部分"
        "加上大小为 σ_up 的新噪声，必须满足 σ_down² + σ_up² = σ_s²。",
    "σ_up = η·√(σ_t² − σ_s²) is the noise the FORWARD process adds between the two levels. The reverse step needs "
    "the spread of x̃_s GIVEN x̃_t (and x0): that is smaller, and it can never exceed σ_s.":
        "σ_up = η·√(σ_t² − σ_s²) 是前向过程在两个水平之间加入的噪声。反向的一步需要的是已知 x̃_t（和 x0）时 "
        "x̃_s 的离散程度：它更小，而且永远不会超过 σ_s。",
    "σ_up = η·σ_s would replace ALL of x̃_s's noise by fresh noise (σ_down = 0 at η = 1): the step would forget "
    "x̃_t. With η = 1 it must be DDPM's step: the spread of x̃_s given x̃_t and x0.":
        "σ_up = η·σ_s 会把 x̃_s 的全部噪声换成新噪声（η = 1 时 σ_down = 0）：这一步就忘掉了 x̃_t。η = 1 时它必须"
        "是 DDPM 的一步：已知 x̃_t 和 x0 时 x̃_s 的离散程度。",
    "η scales the standard deviation of the fresh noise, not its variance: σ_up is η times the posterior standard "
    "deviation (η² would scale the variance).":
        "η 缩放的是新噪声的标准差，而不是方差：σ_up 是 η 乘以后验标准差（η² 缩放的才是方差）。",
    "your σ_up is a variance: the conditional VARIANCE of x̃_s is σ_s²(σ_t² − σ_s²)/σ_t²; σ_up is its square root "
    "(times η).":
        "你的 σ_up 是一个方差：x̃_s 的条件方差是 σ_s²(σ_t² − σ_s²)/σ_t²；σ_up 是它的平方根（再乘以 η）。",
    "return two numbers, (sigma_up, sigma_down); got {got}.":
        "请返回两个数 (sigma_up, sigma_down)；你返回的是 {got}。",
    "σ_up (the fresh noise)":
        "σ_up（新噪声的大小）",
    "σ_down (where the Euler step lands)":
        "σ_down（Euler 一步落到的水平）",
    "from σ_t = {sigma_t} to σ_s = {sigma_s} with η = {eta}: (σ_up, σ_down) should be ({up:.4f}, {down:.4f}), you "
    "gave ({got_up:.4f}, {got_down:.4f}). Check: do the two noises together give level σ_s?":
        "从 σ_t = {sigma_t} 到 σ_s = {sigma_s}，η = {eta}：(σ_up, σ_down) 应为 ({up:.4f}, {down:.4f})，你给出的是 "
        "({got_up:.4f}, {got_down:.4f})。检查一下：两部分噪声合起来是否正好是水平 σ_s？",
    "Two facts decide it. (1) Independent Gaussian noises add in variance: after the Euler step to σ_down and fresh "
    "noise of size σ_up, the sample must be at level σ_s again. (2) With η = 1 the step must be DDPM's: x̃_s drawn "
    "with the spread it has given x̃_t (and x0).":
        "两个事实决定答案。(1) 相互独立的高斯噪声按方差相加：Euler 走到 σ_down、再加上大小为 σ_up 的新噪声之后，"
        "样本必须重新处在水平 σ_s。(2) η = 1 时这一步必须是 DDPM 的一步：按已知 x̃_t（和 x0）时 x̃_s 的离散程度"
        "来抽取 x̃_s。",
    "In σ, x̃_s = x0 + σ_s·ε and x̃_t = x̃_s + independent noise of variance σ_t² − σ_s². For a sum of two "
    "independent Gaussians with variances a and b, the first one's variance given the sum is a·b/(a + b). η scales "
    "the standard deviation; at σ_s = 0 both numbers are 0.":
        "在 σ 变量下，x̃_s = x0 + σ_s·ε，x̃_t = x̃_s + 方差为 σ_t² − σ_s² 的独立噪声。两个方差分别为 a 和 b 的独立"
        "高斯变量之和，已知这个和时第一个变量的方差是 a·b/(a + b)。η 缩放的是标准差；σ_s = 0 时两个数都是 0。",
    "Exercise 7.6 — Karras' grid of noise levels":
        "练习 7.6 —— Karras 的噪声水平网格",
    "your grid ascends. A sampler starts from the noise, so the list runs from σ_max DOWN to σ_min.":
        "你的网格是递增的。采样器从噪声出发，所以这个列表要从 σ_max 降到 σ_min。",
    "you spaced σ itself evenly and then took the ρ-th root: the levels are no longer between σ_min and σ_max. "
    "Space u = σ^(1/ρ) evenly, then come back with u^ρ.":
        "你先对 σ 本身等距取点，再开 ρ 次方根：这些水平已经不在 σ_min 与 σ_max 之间了。应对 u = σ^(1/ρ) 等距取点，"
        "再用 u^ρ 变回来。",
    "the powers are the wrong way round: evenly spaced in σ^(1/ρ) means u = σ^(1/ρ) (a root, which squeezes the "
    "large σ together), then σ = u^ρ.":
        "幂次用反了：在 σ^(1/ρ) 上等距意味着 u = σ^(1/ρ)（开方，会把大的 σ 挤在一起），然后 σ = u^ρ。",
    "you spaced log σ evenly (a geometric grid, the limit ρ → ∞). Karras' grid spaces σ^(1/ρ) evenly, with the ρ "
    "given.":
        "你对 log σ 等距取点（几何网格，即 ρ → ∞ 的极限）。Karras 网格是用给定的 ρ，在 σ^(1/ρ) 上等距取点。",
    "you spaced σ itself evenly (that is ρ = 1). Karras' grid spaces σ^(1/ρ) evenly, which puts most levels at small "
    "σ, where detail forms.":
        "你对 σ 本身等距取点（即 ρ = 1）。Karras 网格在 σ^(1/ρ) 上等距取点，这样大多数水平落在小 σ 处——细节正是"
        "在那里形成的。",
    "the grid":
        "网格",
    "Return n levels, σ_max first and σ_min last, both included.":
        "返回 n 个水平，第一个是 σ_max，最后一个是 σ_min，两端都要包含。",
    "for σ_max = {hi:.4g}, σ_min = {lo:.4g}, n = {n}, ρ = {rho}: your levels differ from Karras' by up to "
    "{max_abs_diff:.3g}.":
        "对于 σ_max = {hi:.4g}，σ_min = {lo:.4g}，n = {n}，ρ = {rho}：你的水平与 Karras 的最多相差 "
        "{max_abs_diff:.3g}。",
    "'Evenly spaced in σ^(1/ρ)' says: change variable to u = σ^(1/ρ), put n evenly spaced points between the u of "
    "σ_max and the u of σ_min, and change back.":
        "“在 σ^(1/ρ) 上等距”的意思是：换成变量 u = σ^(1/ρ)，在 σ_max 对应的 u 与 σ_min 对应的 u 之间等距放 n "
        "个点，再变换回来。",
    "Both ends are levels of the grid (n points, not n + 1, and the last is σ_min itself). The first level is "
    "σ_max: the sampler starts from the noise. Going back from u to σ undoes the root.":
        "两端都是网格上的水平（n 个点，不是 n + 1 个，最后一个就是 σ_min 本身）。第一个水平是 σ_max：采样器从噪声"
        "出发。从 u 变回 σ 就是撤销开方。",

    # ---- views: scatter_2d, eps_prediction, reverse_process, fast_samplers (figure text, HTML keys) ----
    "<span style='color:#999'>● x0 (data)</span> &nbsp; <span style='color:{c0}'>● x_t</span> &nbsp; <span "
    "style='color:{c3}'>━ exact q(x_t): 1σ, 2σ levels</span> &nbsp; <span>╌ N(0, I): 1σ, 2σ circles</span> &nbsp; "
    "<span style='color:{c2}'>○ √ᾱ_t E[x0] (closed-form mean) on its path</span> &nbsp; <b>×</b> mean of the points "
    "&nbsp;·&nbsp; axes [−4, 4]², grid lines every 2 units, slider t = 1..T":
        "<span style='color:#999'>● x0（数据）</span> &nbsp; <span style='color:{c0}'>● x_t</span> &nbsp; <span "
        "style='color:{c3}'>━ 精确的 q(x_t)：1σ、2σ 等高线</span> &nbsp; <span>╌ N(0, I)：1σ、2σ 圆</span> &nbsp; "
        "<span style='color:{c2}'>○ √ᾱ_t E[x0]（闭式解的均值）及其轨迹</span> &nbsp; <b>×</b> 各点的均值 "
        "&nbsp;·&nbsp; 坐标范围 [−4, 4]²，网格线间隔 2，滑块 t = 1..T",
    "  (samples only)":
        "  （仅有样本）",
    "x0 (data)":
        "x0（数据）",
    "linear schedule, {schedule} (steps t = 1..{T})":
        "线性调度，{schedule}（步数 t = 1..{T}）",
    "mean of the cloud {title}":
        "点云的均值 {title}",
    "covariance of the cloud {title}":
        "点云的协方差 {title}",
    "first coordinate of x":
        "x 的第一个坐标",
    "second coordinate of x":
        "x 的第二个坐标",
    "step t":
        "步数 t",
    "exact q(x_t): 1σ, 2σ":
        "精确的 q(x_t)：1σ、2σ",
    "√ᾱ_t E[x0] and its path":
        "√ᾱ_t E[x0] 及其轨迹",
    "mean of the points":
        "各点的均值",
    "training step":
        "训练步数",
    "L_simple (per coordinate)":
        "L_simple（每个坐标）",
    "noising step t (1 … T)":
        "加噪步数 t（1 … T）",
    "squared error per coordinate":
        "每个坐标的平方误差",
    "noising step t (centre of each bucket)":
        "加噪步数 t（各区间的中心）",
    "x_t, coordinate 1 (ticks −{lim:g}, 0, {lim:g})":
        "x_t 的坐标 1（刻度 −{lim:g}、0、{lim:g}）",
    "x_t, coordinate 2":
        "x_t 的坐标 2",
    "network's distance to ε* by t":
        "网络到 ε* 的距离随 t 的变化",
    "noising step t":
        "加噪步数 t",
    "mean (ε̂ − ε*)² per coordinate":
        "每个坐标的 (ε̂ − ε*)² 均值",
    "t = {t}: mean (ε̂ − ε*)² = {err:.4f}":
        "t = {t}：(ε̂ − ε*)² 的均值 = {err:.4f}",
    "t = {t}: mean (ε̂ − ε*)² over the grey x_t = {err:.4f}":
        "t = {t}：(ε̂ − ε*)² 在灰色 x_t 上的均值 = {err:.4f}",
    "mean (ε̂ − ε*)² over x_t ~ q(x_t)":
        "(ε̂ − ε*)² 在 x_t ~ q(x_t) 上的均值",
    "t = {t}, ᾱ_t = {abar:.3f}: mean (x̂0 − x0)² = {mse:.3f}":
        "t = {t}，ᾱ_t = {abar:.3f}：(x̂0 − x0)² 的均值 = {mse:.3f}",
    "loss of each training step":
        "每个训练步的损失",
    "L_simple of the {label}":
        "{label}的 L_simple",
    "L_simple of the exact ε* (floor)":
        "精确 ε* 的 L_simple（下限）",
    "mean (ε̂ − ε*)² of the {label}":
        "{label}的 (ε̂ − ε*)² 均值",
    "x̂0 from it":
        "由它得到的 x̂0",
    "exact ε*(x_t, t)":
        "精确的 ε*(x_t, t)",
    "network ε̂(x_t, t)":
        "网络的 ε̂(x_t, t)",
    "mean (ε̂ − ε*)²":
        "(ε̂ − ε*)² 的均值",
    "current t":
        "当前的 t",
    "running mean over {window} steps":
        "{window} 步的滑动平均",
    "loss of the exact ε* ({floor:.3f})":
        "精确 ε* 的损失（{floor:.3f}）",
    "samples x_t":
        "样本 x_t",
    "x_t at t = {t}":
        "t = {t} 时的 x_t",
    "x̂0 predicted from x_{t}":
        "由 x_{t} 预测的 x̂0",
    "DDIM, 250 network calls, η = 0.75\nNLL 0.00 (DDPM-1000: 0.00)":
        "DDIM，250 次网络调用，η = 0.75\nNLL 0.00（DDPM-1000：0.00）",
    "NLL vs network calls: DDIM η = 0 (blue),\nDDPM-1000 (dashed), current setting (square)":
        "NLL 与网络调用次数：DDIM η = 0（蓝色），\nDDPM-1000（虚线），当前设置（方块）",
    "DDIM, {k} network calls, η = {eta:g}\nNLL {nll:.2f}{ref}":
        "DDIM，{k} 次网络调用，η = {eta:g}\nNLL {nll:.2f}{ref}",
    "NLL (nats)":
        "NLL（nat）",
    "MMD² (V-statistic)":
        "MMD²（V 统计量）",
    "network calls":
        "网络调用次数",
    "fresh data":
        "新数据",
    "fresh data (floor)":
        "新数据（下限）",
    "x̂0 from x_{t}":
        "由 x_{t} 得到的 x̂0",
    "<span style='color:{c3}'>→ −ε* = √(1−ᾱ_t)·∇log q_t</span> (the score scaled by the noise level; length ∝ "
    "√|ε*|) &nbsp;·&nbsp; shading: log q_t over 6 nats, dark = dense &nbsp;·&nbsp; axes [−3.5, 3.5]²":
        "<span style='color:{c3}'>→ −ε* = √(1−ᾱ_t)·∇log q_t</span>（按噪声水平缩放的得分函数；长度 ∝ √|ε*|） "
        "&nbsp;·&nbsp; 阴影：log q_t，跨度 6 nat，越深越密 &nbsp;·&nbsp; 坐标范围 [−3.5, 3.5]²",
    "<span style='color:#999'>● data</span> &nbsp; <span style='color:{c0}'>● samples</span> &nbsp; ○ x_T of the "
    "paths &nbsp; <span style='color:{c1}'>━ paths x_T → x0, one segment per step</span> &nbsp;·&nbsp; title: "
    "steps, network calls made, NLL (DDPM-1000's in brackets)":
        "<span style='color:#999'>● 数据</span> &nbsp; <span style='color:{c0}'>● 样本</span> &nbsp; ○ 各条路径的 "
        "x_T &nbsp; <span style='color:{c1}'>━ 路径 x_T → x0，每步一段</span> &nbsp;·&nbsp; 标题：步数、"
        "实际的网络调用次数、NLL（括号内为 DDPM-1000 的值）",
    "noise level σ_t (log scale)":
        "噪声水平 σ_t（对数坐标）",
    "Where the samplers evaluate ε̂: {name} schedule, T = {T}":
        "各采样器在哪里计算 ε̂：{name} 调度，T = {T}",
    "steps N (log scale)":
        "步数 N（对数坐标）",
    "RMS error at σ_1 (log scale)":
        "σ_1 处的均方根误差（对数坐标）",
    "Gaussian data, exact ODE solution known: error ≈ C·N^(−order)":
        "高斯数据，常微分方程的精确解已知：误差 ≈ C·N^(−阶)",
    "MMD² ÷ its own at the most calls\n(same run; log scale)":
        "MMD² ÷ 同一采样器调用次数最多时的 MMD²\n（同一轮；对数坐标）",
    "{title}: MMD², paired":
        "{title}：MMD²（配对）",
    "+10 %":
        "+10 %",
    "Euler a not shown: new noise at every\ncall count, so its runs are not paired":
        "未画 Euler a：每种调用次数都注入新噪声，\n各次运行无法配对",
    "fewer steps: not fitted (pre-asymptotic)":
        "步数更少：未参与拟合（尚未进入渐近区）",
    "true x̂0(λ)":
        "真实的 x̂0(λ)",
    "line through the last two x̂0":
        "过最近两个 x̂0 的直线",
    "x̂0 of the last two calls":
        "最近两次调用给出的 x̂0",
    "D: the line at the middle of the step = {d:.3f}":
        "D：直线在这一步中点处的值 = {d:.3f}",
    "what the exact step averages, ⟨x̂0⟩ = {m:.3f}":
        "精确的一步所取的加权平均 ⟨x̂0⟩ = {m:.3f}",
    "weight e^(λ−λ_s) of x̂0 in the exact step":
        "精确的一步中 x̂0 的权重 e^(λ−λ_s)",
    "λ = −log σ (grows as noise is removed)":
        "λ = −log σ（随去噪而增大）",
    "One DPM-Solver++(2M) step: x̂0 as a line through the last two calls":
        "DPM-Solver++(2M) 的一步：把 x̂0 取为过最近两次调用结果的直线",
    "fewest network calls from which on NLL (Fréchet on digits) stays within 10 % of DDPM-1000's; MMD² ×: at the "
    "NLL's count, the worst run's MMD² ÷ the same sampler's at its most calls; MMD²: fewest calls from which on "
    "every run is within 10 % of that (Euler a: —, not paired)":
        "从多少次网络调用起，NLL（数字上为 Fréchet 距离）始终与 DDPM-1000 相差不超过 10 %；MMD² ×：在 NLL 达标的"
        "调用次数处，最差一轮的 MMD² 是同一采样器调用次数最多时的多少倍；MMD²：从多少次调用起，每一轮都与后者相差"
        "不超过 10 %（Euler a：—，无法配对）",
    "network calls (log scale)":
        "网络调用次数（对数坐标）",
    "arrows: −ε* = √(1−ᾱ_t)·∇log q_t, length ∝ √|ε*|;  shading: log q_t (dark = dense)":
        "箭头：−ε* = √(1−ᾱ_t)·∇log q_t，长度 ∝ √|ε*|；  阴影：log q_t（越深越密）",
    "t = {t}   σ_t = {sigma:.3g}   largest |ε*| = {longest:.2f}":
        "t = {t}   σ_t = {sigma:.3g}   最大的 |ε*| = {longest:.2f}",
    "{sampler}, {spacing}: {steps} steps, {calls} calls{quality}{ref}":
        "{sampler}，{spacing}：{steps} 步，{calls} 次调用{quality}{ref}",
    ": measured order {order:.2f}":
        "：实测收敛阶 {order:.2f}",
    "ring, exact ε* (n = {n}, {seeds} runs)":
        "圆环，精确 ε*（n = {n}，{seeds} 次运行）",
    "NLL (nats, lower = denser)":
        "NLL（nat，越低越密）",
    "digit Fréchet distance (lower = better)":
        "数字图像的 Fréchet 距离（越低越好）",
    "8×8 digits, U-Net (n = {n})":
        "8×8 数字，U-Net（n = {n}）",
    "x_T of the paths":
        "各条路径的 x_T",
    "paths of {n} samples to x0":
        "{n} 个样本到 x0 的路径",
    "{spacing} grid, {n} steps (then σ_0 = 0)":
        "{spacing} 网格，{n} 步（之后 σ_0 = 0）",
    "ring, shipped MLP (n = {n}, {seeds} runs)":
        "圆环，随课程提供的 MLP（n = {n}，{seeds} 次运行）",
    "fresh data (entropy)":
        "新数据（熵）",
    "real vs real digits":
        "真实数字与真实数字之间",
    "slope −{p} (guide)":
        "斜率 −{p}（参考线）",
    "data":
        "数据",
    "samples":
        "样本",
    "sampler":
        "采样器",
    "network":
        "网络",
    "Gaussian N((2,2), 0.5²I)":
        "高斯分布 N((2,2), 0.5²I)",
    "two moons":
        "双月形",
    "swiss roll":
        "瑞士卷",
    "ring of 8 Gaussians":
        "8 个高斯分布组成的圆环",
    "3×3 grid of Gaussians":
        "3×3 网格状的高斯分布",
    "checkerboard":
        "棋盘格",
}


# ---- chapters 00–03, issue 19: exercise 2.3 (the tilt of x_t), hints that stop short of the code, and the
# code index called k (= t − 1) in chapters 2 and 3 -------------------------------------------------------
MESSAGES.update({
    "In code: make the mask ᾱ < 0.5 over the whole schedule, take the index of its first True (that is the code index"
    " k) and add 1 to get the slider's t.":
        "用代码来做：在整个调度上构造掩码 ᾱ < 0.5，取它第一个 True 的索引（这就是代码索引 k），再加 1 得到滑块上的 t"
        "。",
    "Read ᾱ at index k, take the square roots of ᾱ and of 1 − ᾱ, and return the first times x0 plus the second times "
    "eps (tensor operations, so any shape works).":
        "在索引 k 处读出 ᾱ，分别取 ᾱ 和 1 − ᾱ 的平方根，返回前者乘 x0 加上后者乘 eps（用张量运算，这样任何形状都适用"
        "）。",
    "Compute α and ᾱ from betas; read β_t, α_t and ᾱ_t at index k and ᾱ_{t−1} at index k − 1, except at k = 0, where "
    "it is 1 (a float64 one, not abar[−1]); then return the weight of hint 2 times x0 plus the other weight times x_t"
    ".":
        "由 betas 算出 α 和 ᾱ；在索引 k 处读出 β_t、α_t 和 ᾱ_t，在索引 k − 1 处读出 ᾱ_{t−1}，但 k = 0 时它等于 1（一"
        "个 float64 的 1，而不是 abar[−1]）；然后返回提示 2 中的权重乘 x0，加上另一个权重乘 x_t。",
    "Two lines: the mean is √ᾱ times mu; the covariance is ᾱ times Sigma plus (1−ᾱ) times a 2×2 identity matrix in Si"
    "gma's dtype. Return the two as a tuple (mean, cov).":
        "两行就够：均值是 √ᾱ 乘 mu；协方差是 ᾱ 乘 Sigma，再加上 (1−ᾱ) 乘一个与 Sigma 数据类型相同的 2×2 单位矩阵。把"
        "两者作为元组 (mean, cov) 返回。",
    "Multiply the whole tensor of √ᾱ by ‖μ‖, compare it with tol to get a mask, and return the index of the mask's fi"
    "rst True as an int, or schedule.T when the mask has none.":
        "用整个 √ᾱ 张量乘以 ‖μ‖，与 tol 比较得到掩码，返回掩码中第一个 True 的索引（int）；若掩码中没有 True，就返回 "
        "schedule.T。",
    "off by one — that is the papers' t = k + 1. Return the code index k itself, not k + 1.":
        "差了一步——那是论文中的 t = k + 1。请返回代码索引 k 本身，而不是 k + 1。",
    "{where}: expected k = {want} (there √ᾱ_t ‖μ‖ = {distance:.4f}), got k = {got}.":
        "{where}：应为 k = {want}（该处 √ᾱ_t ‖μ‖ = {distance:.4f}），你得到的是 k = {got}。",
    "Exercise 2.3 — how fast does a tilt fade?":
        "练习 2.3 —— 倾斜消失得有多快？",
    "Start from the covariance of x_t (exercise 2.1), not from the correlation of x0: the noise changes the two varia"
    "nces, but not the covariance between the coordinates.":
        "从 x_t 的协方差出发（练习 2.1），而不是从 x0 的相关系数出发：噪声改变了两个方差，却不改变两个坐标之间的协方"
        "差。",
    "Cov[x_t] = ᾱΣ + (1−ᾱ)I. A correlation is the off-diagonal entry divided by the product of the two standard devia"
    "tions, √(C₁₁·C₂₂), all of them of x_t, not of x0.":
        "Cov[x_t] = ᾱΣ + (1−ᾱ)I。相关系数是非对角元除以两个标准差的乘积 √(C₁₁·C₂₂)，这些量都属于 x_t，而不是 x0。",
    "Build x_t's 2×2 covariance with an identity matrix in Sigma's dtype, divide its entry [0, 1] by the square root "
    "of the product of its two diagonal entries, and return a float. For the prediction: the noise adds the same (1−ᾱ"
    ") to a wide and a narrow cloud; which of the two does it swamp sooner?":
        "用一个与 Sigma 数据类型相同的单位矩阵构造 x_t 的 2×2 协方差，把它的 [0, 1] 元除以两个对角元乘积的平方根，返"
        "回一个浮点数。至于预测：噪声给宽的和窄的点云加上的是同样的 (1−ᾱ)；它会先淹没哪一团？",
    "your correlation does not change with ᾱ: that is the correlation of x0. The noise adds (1−ᾱ) to each coordinate'"
    "s variance but nothing to the covariance between them, so the tilt fades as t grows.":
        "你的相关系数不随 ᾱ 变化：那是 x0 的相关系数。噪声给每个坐标的方差加上 (1−ᾱ)，却不给两者之间的协方差增加任何"
        "东西，所以随着 t 增大，倾斜会逐渐消失。",
    "ρ·ᾱ (or x_t's covariance over x0's standard deviations, the same thing) is right only when both variances of x0 "
    "are 1. Here they are not: the noise adds the same (1−ᾱ) to each variance, whatever its size. Divide by the stand"
    "ard deviations of x_t.":
        "ρ·ᾱ（或者用 x_t 的协方差除以 x0 的标准差，两者是一回事）只在 x0 的两个方差都为 1 时才对。这里并非如此：无论"
        "方差多大，噪声都给它加上同样的 (1−ᾱ)。请除以 x_t 的标准差。",
    "Σ was scaled by √ᾱ, but scaling a variable by √ᾱ scales its covariance by (√ᾱ)² = ᾱ.":
        "你把 Σ 乘了 √ᾱ，但把一个变量乘以 √ᾱ，它的协方差要乘以 (√ᾱ)² = ᾱ。",
    "(1−ᾱ) was added to EVERY entry, the covariance too. The noise's two coordinates are independent: it adds (1−ᾱ) t"
    "imes the identity matrix, nothing off the diagonal.":
        "(1−ᾱ) 被加到了**每一个**元素上，连协方差也加了。噪声的两个坐标相互独立：它加的是 (1−ᾱ) 乘单位矩阵，非对角线"
        "上什么也不加。",
    "the noise adds its variance (1−ᾱ) to each diagonal entry, not its standard deviation √(1−ᾱ).":
        "噪声给每个对角元加上的是它的方差 (1−ᾱ)，而不是它的标准差 √(1−ᾱ)。",
    "the signal's part of the covariance is ᾱΣ, not Σ: x0 is scaled down before the noise is added.":
        "协方差中信号的部分是 ᾱΣ，而不是 Σ：在加入噪声之前，x0 已经被缩小了。",
    "that is the covariance of the two coordinates. A correlation divides it by both standard deviations, √(C₁₁·C₂₂),"
    " so that it lies between −1 and 1.":
        "那是两个坐标的协方差。相关系数要把它除以两个标准差的乘积 √(C₁₁·C₂₂)，这样它才落在 −1 和 1 之间。",
    "for Σ = {sigma}, ᾱ = {abar}":
        "当 Σ = {sigma}、ᾱ = {abar} 时",
    "{where} the correlation of x_t's coordinates should be {want:.4f}, got {got:.4f}.":
        "{where}，x_t 两个坐标的相关系数应为 {want:.4f}，你得到的是 {got:.4f}。",
    "{where} you returned {got:.4f}, but a correlation always lies between −1 and 1: divide the covariance by the pro"
    "duct of the two standard deviations.":
        "{where}，你返回了 {got:.4f}，但相关系数总是落在 −1 和 1 之间：请把协方差除以两个标准差的乘积。",
    "Section 1's recipe: a curve f(τ) = cos²(((τ + s)/(1 + s))·π/2) on τ = t/T, normalised so that ᾱ = 1 at τ = 0. Co"
    "de index k = 0 is already after the first step, at τ = 1/T.":
        "第 1 节的做法：在 τ = t/T 上取曲线 f(τ) = cos²(((τ + s)/(1 + s))·π/2)，并归一化使 τ = 0 时 ᾱ = 1。代码索引 k"
        " = 0 已经是第一步之后，位于 τ = 1/T。",
    "your first value is exactly 1: that is ᾱ before any step. Code index k = 0 is the papers' t = 1, so its value is"
    " ᾱ_1 = f(1/T)/f(0) — start τ at 1/T (take f[1:], not f[:-1]).":
        "你的第一个值恰好是 1：那是任何一步之前的 ᾱ。代码索引 k = 0 就是论文的 t = 1，所以它的值是 ᾱ_1 = f(1/T)/f(0)—"
        "—τ 要从 1/T 开始（取 f[1:]，而不是 f[:-1]）。",
    "for T = {T}, s = {s} the first wrong value is at index k = {bad}: expected ᾱ = {want:.6g}, got {got:.6g}. Compar"
    "e with the formula in the text.":
        "当 T = {T}、s = {s} 时，第一个错误的值位于索引 k = {bad}：应为 ᾱ = {want:.6g}，你得到的是 {got:.6g}。请对照"
        "正文中的公式。",
    "for T = {T} you returned T + 1 = {n} values. The first one, f(0)/f(0) = 1, is 'before any noise'; code index k ="
    " 0 is already after the first step. Return ᾱ at k = 0..T−1 only (shape (T,)).":
        "当 T = {T} 时，你返回了 T + 1 = {n} 个值。第一个值 f(0)/f(0) = 1 是“加任何噪声之前”；代码索引 k = 0 已经是第"
        "一步之后。只返回 k = 0..T−1 处的 ᾱ（形状为 (T,)）。",
    "Write f as a small function of τ with math.cos, evaluate ᾱ = f(1/2)/f(0), and return the natural log of ᾱ/(1 − ᾱ"
    ") as a float.":
        "用 math.cos 把 f 写成 τ 的一个小函数，算出 ᾱ = f(1/2)/f(0)，再把 ᾱ/(1 − ᾱ) 的自然对数作为浮点数返回。",
})
