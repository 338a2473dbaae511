// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API before the
// library is loaded. Importing it through this module guarantees the order wherever it is used.
import 'reflect-metadata';

export * from '@peculiar/x509';
