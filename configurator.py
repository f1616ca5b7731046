"""
nanoGPT's configurator, with errors instead of asserts. Usage inside train.py (or any script whose
knobs are plain globals):

    $ python train.py config/lost_60m.py --batch_size=32 --method='dense'

Config files are Python executed into the script's globals; `--key=value` overrides are typed with
ast.literal_eval (a bare word stays a string). An unknown key, a value of the wrong type or a missing
config file prints one line to stderr and exits with code 2.
"""
import ast
import difflib
import sys


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def check(key, value, knobs):
    """Return value if it fits the type of knobs[key], else fail with a one-line hint."""
    if key not in knobs:
        close = difflib.get_close_matches(key, list(knobs), n=1)
        fail(f"unknown config key {key!r}" + (f"; did you mean {close[0]!r}?" if close else ""))
    default = knobs[key]
    if default is None or type(value) is type(default):
        return value
    if type(default) is float and type(value) is int:
        return float(value)
    fail(f"{key} must be {type(default).__name__} (default {default!r}), got {value!r}")


def configure(knobs, args, file_keys=None):
    """Apply config files and --key=value overrides in order to the dict of globals `knobs`.

    file_keys: if given, config files may set only these keys and their other keys are ignored (bench.py
    takes the model shape from a training config and nothing else)."""
    names = [k for k, v in knobs.items() if not k.startswith("_") and isinstance(v, (int, float, str, bool, type(None)))]
    allowed = {k: knobs[k] for k in names}
    for arg in args:
        if not arg.startswith("--"):
            try:
                source = open(arg).read()
            except OSError as e:
                fail(f"cannot read config file {arg!r} ({e.strerror}); see config/ for the available ones")
            print(f"Overriding config with {arg}")
            scope = {"__file__": arg}  # lets a config build on another, e.g. the dense twins
            try:
                exec(compile(source, arg, "exec"), scope)
            except Exception as e:  # a broken config file is the user's input: one line, no traceback
                fail(f"config file {arg!r} failed: {type(e).__name__}: {e}")
            for key, value in scope.items():
                if key.startswith("_") or callable(value) or type(value).__name__ == "module":
                    continue
                if file_keys is None or key in file_keys:
                    allowed[key] = knobs[key] = check(key, value, allowed)
        else:
            if "=" not in arg:
                fail(f"override {arg!r} needs a value: write {arg}=VALUE")
            key, raw = arg[2:].split("=", 1)
            try:
                value = ast.literal_eval(raw)
            except (SyntaxError, ValueError):
                value = raw  # a bare word such as --method=lost is a string
            if isinstance(allowed.get(key), str) and not isinstance(value, str):
                value = raw  # e.g. --dataset=123 stays the string '123'
            print(f"Overriding: {key} = {value!r}")
            allowed[key] = knobs[key] = check(key, value, allowed)
