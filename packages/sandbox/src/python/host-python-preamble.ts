// The program `python3 -I -c` runs before the user's code in the host-Python backend: resource limits, a
// process/network audit hook, then the same notebook-style runner as the Pyodide sandbox. The user's code
// arrives on stdin; the outcome is written as JSON to file descriptor 3.

/** The preamble. `sys.argv[1]` carries the limits as JSON. */
export const hostPythonPreamble: string = String.raw`
import json, os, resource, sys

limits = json.loads(sys.argv[1])


def set_limit(kind, value):
    try:
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass


set_limit(resource.RLIMIT_CPU, limits['cpuSeconds'])
set_limit(resource.RLIMIT_AS, limits['memoryBytes'])
set_limit(resource.RLIMIT_FSIZE, limits['fileSizeBytes'])
set_limit(resource.RLIMIT_NPROC, limits['processes'])
set_limit(resource.RLIMIT_CORE, 0)

status_stream = os.fdopen(3, 'w')
code = sys.stdin.read()
sys.stdin = open(os.devnull)

import ast, traceback

BLOCKED = {
    'os.system', 'os.exec', 'os.spawn', 'os.posix_spawn', 'os.fork', 'os.forkpty', 'subprocess.Popen',
    'pty.spawn', 'os.kill', 'os.killpg', 'socket.connect', 'socket.bind', 'socket.getaddrinfo',
    'socket.gethostbyname', 'urllib.Request', 'http.client.connect', 'ctypes.dlopen', 'sys.addaudithook',
}
# Modules that start processes or call native code without an audit event (_posixsubprocess.fork_exec raises
# none). Refused with an ImportError subclass, so libraries that import ctypes optionally (numpy does) still
# load.
BLOCKED_MODULES = {'_posixsubprocess', '_ctypes', 'ctypes', 'pty'}


class SandboxImportError(ImportError):
    pass


def audit(event, args):
    if event in BLOCKED:
        raise PermissionError("'" + event + "' is blocked in this sandbox")
    if event == 'import' and str(args[0]).partition('.')[0] in BLOCKED_MODULES:
        raise SandboxImportError("importing '" + str(args[0]) + "' is blocked in this sandbox")


for name in list(sys.modules):
    if name.partition('.')[0] in BLOCKED_MODULES:
        del sys.modules[name]


def refuse(name, module='os'):
    def refused(*args, **keywords):
        raise PermissionError("'" + module + "." + name + "' is blocked in this sandbox")

    refused.__name__ = name
    return refused


# A stand-in _posixsubprocess keeps 'import subprocess' (which many libraries do at import time) working, while
# its fork_exec, the one spawner without an audit event, refuses. Deleting the stand-in and importing again
# hits the import block above.
import types

stand_in = types.ModuleType('_posixsubprocess')
stand_in.fork_exec = refuse('fork_exec', '_posixsubprocess')
sys.modules['_posixsubprocess'] = stand_in

# Process creation is refused by the functions themselves too, not only by the audit hook above.
import posix

for module in (os, posix):
    for name in list(vars(module)):
        if name.startswith(('exec', 'spawn', 'posix_spawn')) or name in ('fork', 'forkpty', 'system', 'popen'):
            setattr(module, name, refuse(name))

sys.addaudithook(audit)


def report(status, message=''):
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    status_stream.write(json.dumps([status, message]))
    status_stream.flush()


def format_error(error):
    lines = ''.join(traceback.format_exception(type(error), error, error.__traceback__.tb_next)).rstrip('\n').split('\n')
    keep = limits['tracebackLines']
    return '\n'.join(['...'] + lines[-keep:] if len(lines) > keep else lines)


namespace = {'__name__': '__main__', '__builtins__': __builtins__}
try:
    tree = compile(code, '<code>', 'exec', ast.PyCF_ONLY_AST)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, '<code>', 'exec'), namespace)
    if last is not None:
        value = eval(compile(last, '<code>', 'eval'), namespace)
        if value is not None:
            sys.stdout.write(repr(value))
    report('ok')
except MemoryError:
    report('memory-limit')
except (PermissionError, SandboxImportError) as error:
    report('forbidden' if 'blocked in this sandbox' in str(error) else 'error', format_error(error))
except BaseException as error:
    report('error', format_error(error))
`;
