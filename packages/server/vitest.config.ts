import { arpoProject } from '../../vitest.shared.ts';

export default arpoProject({ name: 'server' });
