// The subgraphs implement @trim: a field carrying it answers its value
// trimmed on the side the directive names. The data language cannot see
// directives, hence these two resolvers.
import { getDirectiveValues } from 'graphql';

function trimmed(field) {
  return (source, _args, _context, info) => {
    const value = source[field];
    if (typeof value !== 'string') return value ?? null;
    const trim = info.schema.getDirective('trim');
    const args = trim && getDirectiveValues(trim, info.fieldNodes[0], info.variableValues);
    if (!args) return value;
    switch (args.side) {
      case 'left':
        return value.trimStart();
      case 'right':
        return value.trimEnd();
      default:
        return value.trim();
    }
  };
}

export default {
  catalog: { Article: { excerpt: trimmed('excerpt') } },
  authors: { Author: { bio: trimmed('bio') } },
};
