// The Python half of the Pyodide sandbox, as source text run inside each worker. Kept as strings (not .py
// files) so the package ships no data files and the worker needs no file access to find them.

/**
 * Module roots user code may not import: the JavaScript bridge, Pyodide internals, native code, process
 * creation, and CPython test modules that expose raw memory.
 */
export const blockedPythonModules: readonly string[] = [
  'js',
  'pyodide_js',
  'pyodide',
  '_pyodide',
  '_pyodide_core',
  'micropip',
  'ctypes',
  '_ctypes',
  'subprocess',
  '_posixsubprocess',
  'multiprocessing',
  '_multiprocessing',
  '_testcapi',
  '_testinternalcapi',
  '_testlimitedcapi',
  '_testbuffer',
  '_testclinic',
  '_testclinic_limited',
  '_testsinglephase',
  '_testmultiphase',
  '_xxtestfuzz',
  '_remote_debugging',
  'faulthandler',
  'pty',
  'webbrowser',
];

/**
 * Audit events refused outright: process creation, sockets and URL opening, object-graph and frame access
 * (which would reach the sandbox's own state), code-object forging, and extra audit or trace hooks.
 */
export const blockedPythonEvents: readonly string[] = [
  'os.system',
  'os.exec',
  'os.spawn',
  'os.posix_spawn',
  'os.fork',
  'os.forkpty',
  'os.kill',
  'os.killpg',
  'os.startfile',
  'subprocess.Popen',
  'pty.spawn',
  'socket.__new__',
  'socket.connect',
  'socket.bind',
  'socket.getaddrinfo',
  'socket.gethostbyname',
  'socket.gethostbyaddr',
  'socket.gethostname',
  'socket.sendto',
  'socket.sendmsg',
  'urllib.Request',
  'http.client.connect',
  'ftplib.connect',
  'smtplib.connect',
  'poplib.connect',
  'imaplib.open',
  'webbrowser.open',
  'gc.get_objects',
  'gc.get_referrers',
  'gc.get_referents',
  'marshal.loads',
  'marshal.load',
  'code.__new__',
  'function.__new__',
  'sys._getframe',
  'sys._current_frames',
  'sys._current_exceptions',
  'sys.remote_exec',
  'sys.setprofile',
  'sys.settrace',
  'sys.addaudithook',
  'sys.monitoring.register_callback',
  'mmap.__new__',
  'os.chroot',
  'os.setuid',
  'os.putenv',
  'os.unsetenv',
];

/** Filesystem mutations allowed only inside the scratch directory, which is emptied after every call. */
export const scratchOnlyPythonEvents: readonly string[] = [
  'os.remove',
  'os.rename',
  'os.mkdir',
  'os.rmdir',
  'os.chmod',
  'os.chown',
  'os.symlink',
  'os.link',
  'os.truncate',
  'os.utime',
  'os.chflags',
  'os.lchflags',
  'os.mkfifo',
  'os.mknod',
  'shutil.rmtree',
  'shutil.copyfile',
  'shutil.copymode',
  'shutil.copystat',
  'shutil.copytree',
  'shutil.move',
];

/** A Python set literal: compiled to a constant, so code cannot rebind it the way it could a global. */
function pythonSetLiteral(values: readonly string[]): string {
  return `{${values.map((value) => JSON.stringify(value)).join(', ')}}`;
}

function fill(source: string): string {
  return source
    .replaceAll('__BLOCKED_ROOTS__', pythonSetLiteral(blockedPythonModules))
    .replaceAll('__BLOCKED_EVENTS__', pythonSetLiteral(blockedPythonEvents))
    .replaceAll('__PATH_EVENTS__', pythonSetLiteral(scratchOnlyPythonEvents));
}

/** Objects user code can reach (stream, finder, recursion-limit wrapper). They hold no policy state. */
export const pythonExposedSource: string =
  fill(`# Objects user code can reach (sys.stdout, sys.meta_path, sys.setrecursionlimit). Nothing here may hold
# state the sandbox relies on: the policy lives in a separate namespace that user code cannot reach.


class SandboxViolation(PermissionError):
    """Raised when code tries something the sandbox forbids (processes, network, native code, host access)."""


class SandboxImportError(ImportError):
    """Raised when code imports a module the sandbox blocks."""


class OutputLimitExceeded(BaseException):
    """Raised when printed output passes its cap; a BaseException so 'except Exception' does not hide it."""


class Capture:
    """A text stream that keeps at most 'limit' characters and raises once past it."""

    __slots__ = ('parts', 'size', 'limit', 'overflow')
    encoding = 'utf-8'
    errors = 'strict'
    newlines = None
    closed = False

    def __init__(self):
        self.parts = []
        self.size = 0
        self.limit = 0
        self.overflow = False

    def write(self, text):
        if text.__class__ is not str:
            if not isinstance(text, str):
                raise TypeError('write() argument must be str, not ' + type(text).__name__)
            text = ''.join((text,))
        if self.overflow:
            raise OutputLimitExceeded()
        room = self.limit - self.size
        if len(text) <= room:
            self.parts.append(text)
            self.size += len(text)
            return len(text)
        if room > 0:
            self.parts.append(text[:room])
        self.size = self.limit
        self.overflow = True
        raise OutputLimitExceeded()

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False

    def writable(self):
        return True

    def readable(self):
        return False

    def seekable(self):
        return False

    def fileno(self):
        raise OSError('output streams have no file descriptor in this sandbox')


class BlockingFinder:
    """First meta-path finder: refuses blocked modules for imports that skip the 'import' audit event."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        root = ''.join((name,)).partition('.')[0]
        if root in __BLOCKED_ROOTS__:
            raise SandboxImportError("import of '" + name + "' is blocked in this sandbox", name=name)
        return None

    @staticmethod
    def invalidate_caches():
        pass


def make_setrecursionlimit(original, maximum):
    def setrecursionlimit(limit):
        """Sets the recursion limit, clamped so deep recursion cannot overflow the WebAssembly stack."""
        original(max(50, min(limit.__index__(), maximum)))

    return setrecursionlimit


def refuse_builtin(spec, *args):
    raise SandboxImportError("loading native module '" + spec.name + "' is blocked in this sandbox", name=spec.name)
`);

/** The policy (audit hook, lockdown) and the per-call runner. Run in a namespace user code cannot reach. */
export const pythonRunnerSource: string =
  fill(String.raw`# The sandbox policy and the per-call runner. This namespace is referenced only from JavaScript (the runner
# proxy) and from the audit hook, never from an object user code can reach, and frames are unreachable from
# user code (the hook refuses every way to get one), so user code cannot change the policy.
import ast
import builtins
import io
import json
import os
import sys
import types

SCRATCH = '/tmp/scratch'
Capture = exposed['Capture']
OutputLimitExceeded = exposed['OutputLimitExceeded']
SandboxViolation = exposed['SandboxViolation']
SandboxImportError = exposed['SandboxImportError']

allow_frames = [False]
wrote_files = [False]
stdout = Capture()
stderr = Capture()
stdin = io.StringIO('')
builtins_snapshot = {}
baseline_modules = {}
baseline_lists = {}
baseline_sys = {}
recursion_limit = [1000]
set_recursion_limit = sys.setrecursionlimit
normpath = os.path.normpath
join_path = os.path.join
getcwd = os.getcwd
chdir = os.chdir
listdir = os.listdir
remove = os.remove
isdir = os.path.isdir
fsdecode = os.fsdecode
dumps = json.dumps
modules = sys.modules
module_type = types.ModuleType
expr_type = ast.Expr
expression_type = ast.Expression
only_ast = ast.PyCF_ONLY_AST
builtins_dict = builtins.__dict__
write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def path_allowed(path):
    if path.__class__ is int:
        return True
    try:
        text = fsdecode(path)
        full = normpath(text if text.startswith('/') else join_path(getcwd(), text))
    except Exception:
        return False
    return full == SCRATCH or full.startswith(SCRATCH + '/')


def audit(event, args):
    # Decisions use literal constants only: nothing user code could rebind.
    if event == 'import':
        name = ''.join((args[0],))
        if name.partition('.')[0] in __BLOCKED_ROOTS__:
            raise SandboxImportError("import of '" + name + "' is blocked in this sandbox", name=name)
        return
    if event == 'object.__getattr__':
        if args[1] in {'tb_frame', 'gi_frame', 'cr_frame', 'ag_frame', 'f_back'} and not allow_frames[0]:
            raise SandboxViolation("reading '" + args[1] + "' is blocked in this sandbox")
        return
    if event in __BLOCKED_EVENTS__ or event.startswith('ctypes.'):
        raise SandboxViolation("'" + event + "' is blocked in this sandbox")
    if event == 'open':
        mode = args[1]
        flags = args[2]
        if (mode.__class__ is str and ('w' in mode or 'a' in mode or 'x' in mode or '+' in mode)) or (
            mode is None and flags.__class__ is int and flags & write_flags
        ):
            if not path_allowed(args[0]):
                raise SandboxViolation('writing files outside ' + SCRATCH + ' is blocked in this sandbox')
            wrote_files[0] = True
        return
    if event in __PATH_EVENTS__:
        for value in args[:2]:
            if (value.__class__ is str or value.__class__ is bytes) and not path_allowed(value):
                raise SandboxViolation("'" + event + "' outside " + SCRATCH + ' is blocked in this sandbox')
        wrote_files[0] = True


def from_pyodide(value):
    names = (getattr(value, '__module__', None), type(value).__module__)
    return any(isinstance(name, str) and 'pyodide' in name for name in names)


def scrub_javascript_references():
    # Drop every JavaScript proxy and Pyodide core table still held by a Python container (Pyodide's import
    # finder keeps 'js' and 'pyodide_js' proxies; module copies keep the converters).
    import gc

    gc.collect()
    for container in gc.get_objects():
        if container.__class__ is not dict:
            continue
        if container.get('__name__') == '_pyodide_core':
            container.clear()
            continue
        doomed = [key for key, value in container.items() if is_javascript_proxy(value)]
        for key in doomed:
            del container[key]
    gc.collect()


def is_javascript_proxy(value):
    kind = type(value)
    module = getattr(kind, '__module__', None)
    return isinstance(module, str) and (module.startswith('pyodide') or module.startswith('_pyodide')) and (
        not isinstance(value, type)
    )


def lockdown(max_recursion_limit):
    """Cuts the interpreter off from JavaScript. Runs once per worker before any user code."""
    # Import every allowed builtin module now, so the builtin importer can be disabled below.
    for name in sys.builtin_module_names:
        if name not in modules and name.partition('.')[0] not in __BLOCKED_ROOTS__:
            try:
                __import__(name)
            except Exception:
                pass
    import _imp

    _imp.create_builtin = exposed['refuse_builtin']
    _imp.create_dynamic = exposed['refuse_builtin']
    # Drop Pyodide's JS import finder; ours comes first.
    sys.meta_path[:] = [exposed['BlockingFinder']] + [
        finder for finder in sys.meta_path if not from_pyodide(finder)
    ]
    sys.path_hooks[:] = [hook for hook in sys.path_hooks if not from_pyodide(hook)]
    sys.path_importer_cache.clear()
    # Forget and empty every module that can reach JavaScript, so functions defined there lose their globals.
    for name in list(modules):
        if name.partition('.')[0] in __BLOCKED_ROOTS__:
            module = modules.pop(name)
            try:
                module.__dict__.clear()
            except Exception:
                pass
    # asyncio's default policy is Pyodide's WebLoop, which holds JavaScript callbacks.
    try:
        import asyncio.events

        import asyncio.runners

        asyncio.events._event_loop_policy = None
        asyncio.run = asyncio.runners.run
    except Exception:
        pass
    sys.last_exc = sys.last_type = sys.last_value = sys.last_traceback = None
    os.environ.clear()
    os.makedirs(SCRATCH, exist_ok=True)
    chdir(SCRATCH)
    sys.setrecursionlimit = exposed['make_setrecursionlimit'](set_recursion_limit, max_recursion_limit)
    sys.dont_write_bytecode = True
    recursion_limit[0] = sys.getrecursionlimit()
    baseline_lists['meta_path'] = list(sys.meta_path)
    baseline_lists['path'] = list(sys.path)
    baseline_lists['path_hooks'] = list(sys.path_hooks)
    for name in ('stdin', 'stdout', 'stderr', 'displayhook', 'excepthook', 'breakpointhook', 'unraisablehook',
                 'setrecursionlimit', 'meta_path', 'path', 'path_hooks', 'path_importer_cache', 'modules'):
        baseline_sys[name] = getattr(sys, name)
    builtins_snapshot.update(builtins_dict)
    baseline_modules.update(modules)
    scrub_javascript_references()
    sys.addaudithook(audit)


def restore():
    for name, value in baseline_sys.items():
        if getattr(sys, name) is not value:
            setattr(sys, name, value)
    set_recursion_limit(recursion_limit[0])
    for name, value in baseline_lists.items():
        live = baseline_sys[name]
        if live != value:
            live[:] = value
    sys.path_importer_cache.clear()
    if builtins_dict != builtins_snapshot:
        builtins_dict.clear()
        builtins_dict.update(builtins_snapshot)
    if modules.keys() != baseline_modules.keys():
        for name in [name for name in modules if name not in baseline_modules]:
            del modules[name]
        modules.update(baseline_modules)
    modules['__main__'] = baseline_modules['__main__']
    if getcwd() != SCRATCH:
        chdir(SCRATCH)
    if wrote_files[0]:
        wrote_files[0] = False
        remove_tree(SCRATCH, keep=True)


def remove_tree(path, keep=False):
    for entry in listdir(path):
        full = path + '/' + entry
        if isdir(full):
            remove_tree(full)
        else:
            remove(full)
    if not keep:
        os.rmdir(path)


def frame_entries(tb):
    # Read frames with the hook's permission; no user code can run here (tracebacks, frames and code
    # objects are not subclassable and their attributes are plain C members).
    entries = []
    allow_frames[0] = True
    try:
        while tb is not None:
            code = tb.tb_frame.f_code
            entries.append((code.co_filename, tb.tb_lineno, code.co_name))
            tb = tb.tb_next
    finally:
        allow_frames[0] = False
    return entries


def exception_text(error):
    kind = error.__class__
    name = kind.__qualname__
    if kind.__module__ not in ('builtins', '__main__', 'sandbox'):
        name = kind.__module__ + '.' + name
    try:
        text = str(error)
    except BaseException:
        text = '<str() of the exception failed>'
    lines = []
    if isinstance(error, SyntaxError) and error.filename == '<code>':
        lines.append('  File "<code>", line ' + str(error.lineno))
        if error.text:
            source = error.text.rstrip('\n')
            stripped = source.lstrip()
            lines.append('    ' + stripped)
            if error.offset:
                lines.append('    ' + ' ' * max(0, error.offset - 1 - (len(source) - len(stripped))) + '^')
        text = str(error.msg)
    lines.append(name + ': ' + text if text else name)
    return lines


def format_error(error, code_lines, traceback_lines):
    # Frames of the runner and of the sandbox policy are not the user's business.
    entries = [entry for entry in frame_entries(error.__traceback__) if entry[0] != '<sandbox>']
    lines = []
    if entries:
        lines.append('Traceback (most recent call last):')
        for filename, lineno, name in entries:
            lines.append('  File "' + filename + '", line ' + str(lineno) + ', in ' + name)
            if filename == '<code>' and 0 < lineno <= len(code_lines):
                text = code_lines[lineno - 1].strip()
                if text:
                    lines.append('    ' + text)
    lines.extend(exception_text(error))
    if len(lines) > traceback_lines:
        lines = ['...'] + lines[-traceback_lines:]
    return '\n'.join(lines)


def run(code, stdout_limit, stderr_limit, traceback_lines):
    """Runs 'code' in a fresh '__main__'. Returns JSON: [status, stdout, stderr, message]."""
    status = 'ok'
    message = ''
    stdout.parts = []
    stdout.size = 0
    stdout.limit = stdout_limit
    stdout.overflow = False
    stderr.parts = []
    stderr.size = 0
    stderr.limit = stderr_limit
    stderr.overflow = False
    try:
        main = module_type('__main__')
        namespace = main.__dict__
        namespace['__builtins__'] = builtins_snapshot.copy()
        modules['__main__'] = main
        sys.stdout = stdout
        sys.stderr = stderr
        sys.stdin = stdin
        tree = compile(code, '<code>', 'exec', only_ast)
        body = tree.body
        last = None
        if body and body[-1].__class__ is expr_type:
            last = expression_type(body.pop().value)
        exec(compile(tree, '<code>', 'exec'), namespace)
        if last is not None:
            value = eval(compile(last, '<code>', 'eval'), namespace)
            if value is not None:
                stdout.write(repr(value))
    except OutputLimitExceeded:
        status = 'output-limit'
    except KeyboardInterrupt:
        status = 'interrupted'
    except MemoryError:
        status = 'memory-limit'
    except BaseException as error:
        if stdout.overflow or stderr.overflow:
            status = 'output-limit'
        else:
            status = 'forbidden' if isinstance(error, (SandboxViolation, SandboxImportError)) else 'error'
            try:
                message = format_error(error, code.split('\n'), traceback_lines)
            except BaseException:
                message = error.__class__.__name__
    try:
        restore()
    except BaseException as error:
        status = 'broken'
        message = 'the sandbox could not restore its state: ' + error.__class__.__name__
    return dumps([status, ''.join(stdout.parts), ''.join(stderr.parts), message])
`);
