// Parses Jenkinsfiles with Groovy's own parser (no Jenkins needed) and prints, per file, the tree of method
// calls with closure bodies as JSON: [name, [string arguments], [children]]. A syntax error exits 1.
// Usage: groovy jenkinsfile_tree.groovy FILE...
import groovy.json.JsonOutput
import org.codehaus.groovy.ast.expr.*
import org.codehaus.groovy.ast.stmt.*
import org.codehaus.groovy.control.*

def calls(Statement block) {
    def out = []
    def stmts = block instanceof BlockStatement ? block.statements : [block]
    for (s in stmts) {
        if (s instanceof ExpressionStatement && s.expression instanceof MethodCallExpression) {
            out << node(s.expression)
        } else if (s instanceof ExpressionStatement && s.expression instanceof BinaryExpression) {
            out << ['=', [s.expression.leftExpression.text], []]
        }
    }
    out
}

def node(MethodCallExpression call) {
    def strings = []
    def children = []
    def args = call.arguments instanceof TupleExpression ? call.arguments.expressions : [call.arguments]
    for (a in args) {
        if (a instanceof ConstantExpression && a.value instanceof String) strings << a.value
        else if (a instanceof VariableExpression) strings << a.name
        else if (a instanceof ClosureExpression) children.addAll(calls(a.code))
        else if (a instanceof MapExpression) a.mapEntryExpressions.each { strings << it.keyExpression.text }
        else if (a instanceof MethodCallExpression) children << node(a)
        else if (a instanceof ListExpression) a.expressions.findAll { it instanceof MethodCallExpression }.each { children << node(it) }
    }
    [call.methodAsString, strings, children]
}

def result = [:]
def failed = false
for (path in args) {
    def cu = new CompilationUnit()
    cu.addSource(new File(path))
    try {
        cu.compile(Phases.CONVERSION)
        result[path] = calls(cu.AST.modules[0].statementBlock)
    } catch (CompilationFailedException e) {
        System.err.println("${path}: ${e.message}")
        failed = true
    }
}
println JsonOutput.toJson(result)
System.exit(failed ? 1 : 0)
