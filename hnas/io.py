"""Atomic file writes (a reader sees the old file or the new one, never half of one) and safe file names."""
import json
import os
import tempfile
from pathlib import Path


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write):
    """Call write(file_path) on a temp file beside `path`, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's 0600 is for the temp file, not the output
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path, obj, indent=None):
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=indent)
            f.flush()
            os.fsync(f.fileno())
    atomic_write(path, write)


def write_text(path, text):
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def check_writable(directory):
    """Fail before long work starts if outputs cannot be written here."""
    from hnas.errors import HnasError
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # a probe of its own: shards started together check the same directory at the same moment
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".hnas-write-probe-") as probe:
            probe.write(b"ok")
            probe.flush()  # a full disk fails here, not at creation
    except OSError as err:
        raise HnasError(f"output directory {directory} is not writable ({err.strerror})") from None


def scratch_file(prefix):
    """A new empty temporary file (this process and its data loader workers write it), removed at exit."""
    import atexit
    handle, path = tempfile.mkstemp(prefix=prefix, suffix=".txt")
    os.close(handle)
    atexit.register(Path(path).unlink, missing_ok=True)
    return Path(path)


def read_text(path, what):
    """A file's UTF-8 text, or one HnasError naming it (missing, unreadable, not UTF-8)."""
    from hnas.errors import HnasError
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HnasError(f"{what} not found: {path}") from None
    except UnicodeDecodeError as err:
        raise HnasError(f"{what} {path} is not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise HnasError(f"{what} {path} is unreadable ({err.strerror})") from None


def read_json(path, what="JSON file"):
    """A JSON file's value, or one HnasError naming it: missing, not UTF-8, malformed or truncated,
    or nested too deeply for the parser (a hostile file)."""
    from hnas.errors import HnasError
    text = read_text(path, what)
    try:
        return json.loads(text)
    except RecursionError:
        raise HnasError(f"{what} {path} nests too deeply to be read") from None
    except ValueError as err:
        where = f" at line {err.lineno} column {err.colno}" if hasattr(err, "lineno") else ""
        raise HnasError(f"{what} {path} is not valid JSON ({getattr(err, 'msg', err)}{where}); "
                        f"it may be truncated") from None


def load_state(path):
    """A paddle state dict from disk, or one clear error for a truncated or foreign file."""
    import paddle
    from hnas.errors import HnasError
    if not Path(path).is_file():
        raise HnasError(f"checkpoint not found: {path}")
    try:
        return paddle.load(str(path))
    except Exception as err:  # paddle raises many types for truncated or foreign files
        raise HnasError(f"checkpoint {path} is unreadable: truncated or not a paddle checkpoint "
                        f"({type(err).__name__})") from None
